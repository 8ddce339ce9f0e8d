#!/usr/bin/env bash
# torchrun for one of the tools: tools/torchrun.sh NPROC TOOL.py [ARGS]
# (used by dist_train.sh and dist_test.sh). Honours NNODES, NODE_RANK,
# MASTER_ADDR and PORT; uses .venv/bin/python when it exists (or $PYTHON).
set -euo pipefail
NPROC=$1
TOOL=$2
here=$(cd "$(dirname "$0")" && pwd)
default_python=$(command -v python3 || command -v python)
[ -x "$here/../.venv/bin/python" ] && default_python="$here/../.venv/bin/python"
PYTHON=${PYTHON:-$default_python}
PYTHONPATH="$here/..:${PYTHONPATH:-}" OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} \
  exec "$PYTHON" -m torch.distributed.run \
  --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
  --master_addr="${MASTER_ADDR:-127.0.0.1}" --nproc_per_node="$NPROC" \
  --master_port="${PORT:-29500}" "$here/$TOOL" "${@:3}" --launcher pytorch
