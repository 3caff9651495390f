#!/usr/bin/env bash
# Create .venv/ at the repository root and install everything mmdet_faces needs.
# Idempotent: a second run checks what is there and returns in a few seconds.
#   TORCH_SPEC   torch requirement to install (default: torch==2.13.0, the CPU build on disk here)
#   PYTHON       interpreter used to create the venv (default: python3)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
STAMP="$VENV/.mmdet_faces_setup"
say() { printf '[setup] %s\n' "$*"; }
t0=$SECONDS

want_stamp="$(cat "$ROOT/pyproject.toml" "$ROOT/tools/setup_env.sh" | sha1sum | cut -d' ' -f1)"
if [[ -x "$PY" && -f "$STAMP" && "$(cat "$STAMP")" == "$want_stamp" ]] \
   && "$PY" -c "import torch, mmcv.ops, mmdet, mmdet_faces, mmcv_patches" >/dev/null 2>&1; then
  say "environment in $VENV is up to date"
  exit 0
fi

if [[ ! -x "$PY" ]]; then
  say "creating virtual environment $VENV"
  "${PYTHON:-python3}" -m venv "$VENV"
fi
pip() { "$PY" -m pip --disable-pip-version-check "$@"; }

say "pinning build tools (setuptools<70: mmcv 2.1 needs pkg_resources, setuptools>=82 breaks mmdet:: configs)"
pip install -q --upgrade pip wheel 'setuptools<70'

if "$PY" -c "import torch, sys; sys.exit(0 if tuple(map(int, torch.__version__.split('+')[0].split('.')[:2])) >= (2, 1) else 1)" >/dev/null 2>&1; then
  say "torch $("$PY" -c 'import torch; print(torch.__version__)') already installed"
else
  say "installing $TORCH_SPEC"
  pip install -q "$TORCH_SPEC"
fi
# torch may pull a newer setuptools; put the pin back before building mmcv.
pip install -q 'setuptools<70' 'numpy<2.5'

if "$PY" -c "import mmcv, mmcv.ops; from mmcv.ops import nms; assert mmcv.__version__ < '2.2'" >/dev/null 2>&1; then
  say "mmcv $("$PY" -c 'import mmcv; print(mmcv.__version__)') with compiled ops already installed"
else
  say "building mmcv 2.1.0 with its ops from source (7-13 minutes on 2 cores; pip caches the wheel)"
  t=$SECONDS
  MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" pip install --no-build-isolation 'mmcv==2.1.0'
  say "mmcv installed in $((SECONDS - t)) s"
fi

say "installing mmdet 3.3.0 and mmdet-faces (editable) with the test and lint extras"
pip install -q --no-build-isolation -e "$ROOT[tests,lint]"
# mim (the [mim] extra) for its tests, without openmim's opendatalab ->
# openxlab requirement, which pins setuptools 60 (too old to build this
# project) and which mim train / test / run never import
say "installing openmim (mim) without opendatalab"
pip install -q --no-deps 'openmim>=0.3.9'
pip install -q click colorama model-index tabulate requests rich pandas
pip install -q 'setuptools<70'

"$PY" -c "import torch, mmcv, mmdet, mmengine, mmdet_faces, mmcv_patches; print('[setup] torch', torch.__version__, '| mmcv', mmcv.__version__, '| mmengine', mmengine.__version__, '| mmdet', mmdet.__version__)"
echo "$want_stamp" > "$STAMP"
say "done in $((SECONDS - t0)) s: use $PY"
