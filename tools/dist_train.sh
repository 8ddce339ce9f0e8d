#!/usr/bin/env bash
# Distributed training: tools/dist_train.sh CONFIG NPROC [ARGS]
# Honours NNODES, NODE_RANK, MASTER_ADDR and PORT. Without GPUs the processes
# talk over gloo (tools/train.py sets that up).
set -euo pipefail
exec bash "$(dirname "$0")/torchrun.sh" "$2" train.py "$1" "${@:3}"
