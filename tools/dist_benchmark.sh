#!/usr/bin/env bash
# Training throughput over devices / nodes (images/s per device and total).
#   tools/dist_benchmark.sh CONFIG GPUS [benchmark_dist_train.py args...]
# Environment (defaults): NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1),
#   PORT (29500), DEVICE_ID_OFFSET (0), as in tools/dist_train.sh.
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: $0 CONFIG GPUS [--iters N --warmup W --out FILE ...]" >&2
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
    "$ROOT/tools/analysis_tools/benchmark_dist_train.py" \
    "$CONFIG" \
    --launcher pytorch "$@"
