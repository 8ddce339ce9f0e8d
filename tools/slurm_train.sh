#!/usr/bin/env bash
# Training on a Slurm cluster (MMDetection's tools/slurm_train.sh shape):
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS="..."] \
#       tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [ARGS]
# srun starts GPUS tasks, GPUS_PER_NODE per node (GPUS=16 with 8 per node:
# two nodes); each runs tools/train.py with --launcher slurm, and MMEngine
# takes rank, world size and the master address from Slurm's variables.
# ARGS go to tools/train.py (e.g. --cfg-options model.teacher_ckpt=...);
# SRUN_ARGS to srun (e.g. SRUN_ARGS="--quotatype=auto --time=2-00:00:00").
set -euo pipefail
if [ $# -lt 4 ]; then
  echo "usage: [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...]" \
    "$0 PARTITION JOB_NAME CONFIG WORK_DIR [ARGS]" >&2
  exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
here=$(cd "$(dirname "$0")" && pwd)
default_python=python
[ -x "$here/../.venv/bin/python" ] && default_python="$here/../.venv/bin/python"
PYTHON=${PYTHON:-$default_python}

# SRUN_ARGS is split into words on purpose; ARGS are passed as given.
# shellcheck disable=SC2086
PYTHONPATH="$here/..:${PYTHONPATH:-}" exec srun -p "$PARTITION" \
  --job-name="$JOB_NAME" \
  --gres=gpu:"$GPUS_PER_NODE" \
  --ntasks="$GPUS" \
  --ntasks-per-node="$GPUS_PER_NODE" \
  --cpus-per-task="$CPUS_PER_TASK" \
  --kill-on-bad-exit=1 \
  $SRUN_ARGS \
  "$PYTHON" -u "$here/train.py" "$CONFIG" --work-dir="$WORK_DIR" \
  --launcher=slurm "${@:5}"
