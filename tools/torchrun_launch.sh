#!/usr/bin/env bash
# Shared by tools/dist_{train,test,benchmark}.sh (source it, then call
# torchrun_launch NPROC SCRIPT ARGS...): runs SCRIPT under torchrun with
# .venv/bin/python (else python) and the repository on PYTHONPATH.
# Environment (defaults): NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1),
#   PORT (29500), DEVICE_ID_OFFSET (0: process LOCAL_RANK uses device
#   LOCAL_RANK + DEVICE_ID_OFFSET, like the Ascend scripts' NPUID shift).
TORCHRUN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

torchrun_launch() {
  local nproc=$1 script=$2
  shift 2
  local py="$TORCHRUN_ROOT/.venv/bin/python"
  [[ -x "$py" ]] || py=python
  export NNODES=${NNODES:-1}
  export NODE_RANK=${NODE_RANK:-0}
  export MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
  export PYTHONPATH="$TORCHRUN_ROOT${PYTHONPATH:+:$PYTHONPATH}"
  exec "$py" -m torch.distributed.run \
      --nnodes="$NNODES" \
      --node_rank="$NODE_RANK" \
      --master_addr="$MASTER_ADDR" \
      --nproc_per_node="$nproc" \
      --master_port="${PORT:-29500}" \
      "$TORCHRUN_ROOT/$script" \
      "$@"
}
