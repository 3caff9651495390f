#!/usr/bin/env bash
# The one command of an accelerator lease (docs/benchmarks.md):
#   bash tools/device_check.sh [tools/device_check.py options]
# installs the wheels carried in .whl/, runs the GPU checks and writes
# $OUT/device_check.json and $OUT/device_check.log.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-}"
if [[ -z "$PY" ]]; then
  if [[ -x "$ROOT/.venv/bin/python" ]]; then PY="$ROOT/.venv/bin/python"; else PY=python3; fi
fi
exec "$PY" "$ROOT/tools/device_check.py" "$@"
