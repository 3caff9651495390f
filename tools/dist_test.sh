#!/usr/bin/env bash
# Distributed testing with torchrun (one process per device; CPU-only: gloo).
#   tools/dist_test.sh CONFIG GPUS CHECKPOINT [tools/test.py args...]
#   tools/dist_test.sh CONFIG CHECKPOINT GPUS [tools/test.py args...]  (mmdet's order)
# Environment (defaults): NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1),
#   PORT (29500), DEVICE_ID_OFFSET (0), as in tools/dist_train.sh.
set -euo pipefail
if [[ $# -lt 3 ]]; then
  echo "usage: $0 CONFIG GPUS CHECKPOINT [test.py args...]" >&2
  exit 2
fi
CONFIG=$1
if [[ "$2" =~ ^[0-9]+$ && ! -f "$2" ]]; then
  GPUS=$2; CHECKPOINT=$3
else
  CHECKPOINT=$2; GPUS=$3
fi
shift 3
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$ROOT/.venv/bin/python"
[[ -x "$PY" ]] || PY=python
export NNODES=${NNODES:-1}
export NODE_RANK=${NODE_RANK:-0}
export MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
PORT=${PORT:-29500}
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
exec "$PY" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$ROOT/tools/test.py" \
    "$CONFIG" \
    "$CHECKPOINT" \
    --launcher pytorch "$@"
