#!/usr/bin/env bash
# Distributed testing: tools/dist_test.sh CONFIG CHECKPOINT NPROC [ARGS]
# Honours NNODES, NODE_RANK, MASTER_ADDR and PORT. Without GPUs the processes
# talk over gloo (tools/test.py sets that up).
set -euo pipefail
exec bash "$(dirname "$0")/torchrun.sh" "$3" test.py "$1" "$2" "${@:4}"
