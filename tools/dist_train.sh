#!/usr/bin/env bash
# Distributed training with torchrun (one process per device; CPU-only: gloo).
#   tools/dist_train.sh CONFIG GPUS [tools/train.py args...]
# Environment (defaults): NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1),
#   PORT (29500), DEVICE_ID_OFFSET (0: process LOCAL_RANK uses device
#   LOCAL_RANK + DEVICE_ID_OFFSET, like the Ascend scripts' NPUID shift).
# Multi-node: run the same command on every node with its NODE_RANK and the
#   rank-0 node's MASTER_ADDR.
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: $0 CONFIG GPUS [train.py args...]" >&2
  exit 2
fi
CONFIG=$1
GPUS=$2
shift 2
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
    "$ROOT/tools/train.py" \
    "$CONFIG" \
    --launcher pytorch "$@"
