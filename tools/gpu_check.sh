#!/usr/bin/env bash
# The GPU check in one command, for a machine with an NVIDIA GPU: reports
# torch, CUDA and nvcc, sets up .venv-gpu with the machine's torch and mmcv
# built with CUDA ops, runs the demo's quick mode and benchmark_distill.py
# (with and without --amp) on the GPU, a 2-GPU dist_train.sh epoch where
# there are two GPUs, and prints one table (tools/misc/gpu_check.py).
#
#   bash tools/gpu_check.sh [--work-dir DIR] [--skip-setup]
#
# PYTHON: the interpreter with the machine's CUDA torch (default: python3).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
exec "${PYTHON:-python3}" tools/misc/gpu_check.py "$@"
