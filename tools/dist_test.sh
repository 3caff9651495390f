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
source "$(dirname "${BASH_SOURCE[0]}")/torchrun_launch.sh"
torchrun_launch "$GPUS" tools/test.py "$CONFIG" "$CHECKPOINT" --launcher pytorch "$@"
