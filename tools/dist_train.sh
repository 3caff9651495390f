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
source "$(dirname "${BASH_SOURCE[0]}")/torchrun_launch.sh"
torchrun_launch "$GPUS" tools/train.py "$CONFIG" --launcher pytorch "$@"
