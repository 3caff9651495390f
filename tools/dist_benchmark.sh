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
source "$(dirname "${BASH_SOURCE[0]}")/torchrun_launch.sh"
torchrun_launch "$GPUS" tools/analysis_tools/benchmark_dist_train.py "$CONFIG" --launcher pytorch "$@"
