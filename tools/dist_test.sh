#!/usr/bin/env bash
# Distributed testing with torchrun: tools/dist_test.sh CONFIG CHECKPOINT NPROC [ARGS]
# Honours NNODES, NODE_RANK, MASTER_ADDR and PORT. Without GPUs the processes
# talk over gloo (tools/test.py sets that up).
set -euo pipefail
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
here=$(cd "$(dirname "$0")" && pwd)
default_python=$(command -v python3 || command -v python)
[ -x "$here/../.venv/bin/python" ] && default_python="$here/../.venv/bin/python"
PYTHON=${PYTHON:-$default_python}
PYTHONPATH="$here/..:${PYTHONPATH:-}" OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} \
  "$PYTHON" -m torch.distributed.run \
  --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
  --nproc_per_node="$NPROC" --master_port="$PORT" \
  "$here/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "${@:4}"
