#!/usr/bin/env bash
# Set up (or check) the project's virtual environment in .venv/.
#
# Idempotent: a second run only checks that everything imports and returns in
# seconds. The mmcv 2.1.0 wheel (compiled ops) is built once and cached
# outside the repository, so a fresh clone installs it in seconds too.
#
# Environment variables:
#   PYTHON            interpreter used to create .venv (default: python3)
#   MMKD_CACHE_DIR    where the built mmcv wheel is cached
#                     (default: ${XDG_CACHE_HOME:-~/.cache}/mmkd)
#   MMKD_MMCV_CUDA=1  build mmcv with CUDA ops (needs nvcc and a CUDA torch);
#                     default: CPU ops only
#   MMKD_SYSTEM_TORCH=1  create .venv with --system-site-packages and use the
#                     torch already installed on the machine (GPU machines)
#   MMKD_FORCE_SETUP=1   redo every install step even if the stamp matches
#   MMKD_VENV         the virtual environment to set up (default: .venv;
#                     tools/gpu_check.sh uses .venv-gpu)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="${MMKD_VENV:-$root/.venv}"
py_bin="$venv/bin/python"
cache="${MMKD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mmkd}"
cuda="${MMKD_MMCV_CUDA:-0}"
step=''

say() { printf '[setup] %s\n' "$*" >&2; }
fail() {
  say "FAILED at step: $step (exit code $1)."
  say "Fix the cause printed above and run this command again."
  exit "$1"
}
trap 'fail $?' ERR

stamp_of() {
  # Everything that changes what gets installed goes into the stamp.
  cat "$root"/requirements/*.txt "$root/setup.py" "$root/setup.cfg" \
    "$root/tools/setup_env.sh" | sha256sum | cut -c1-16
  echo "cuda=$cuda system_torch=${MMKD_SYSTEM_TORCH:-0}"
}
stamp_file="$venv/.mmkd-setup-stamp"
check_import() {
  "$py_bin" -c 'import mmkd, mmdet, mmcv.ops; from mmkd.registry import MODELS' \
    >/dev/null 2>&1
}

if [ "${MMKD_FORCE_SETUP:-0}" != 1 ] && [ -f "$stamp_file" ] \
  && [ "$(cat "$stamp_file")" = "$(stamp_of)" ] && check_import; then
  say "environment up to date ($venv)"
  exit 0
fi

step='create the virtual environment'
if [ ! -x "$py_bin" ]; then
  say "$step in $venv"
  venv_args=()
  [ "${MMKD_SYSTEM_TORCH:-0}" = 1 ] && venv_args+=(--system-site-packages)
  "${PYTHON:-python3}" -m venv "${venv_args[@]}" "$venv"
fi
pip=("$py_bin" -m pip install --disable-pip-version-check -q)

step='install torch==2.13.0'
torch_version=$("$py_bin" -c 'import torch; print(torch.__version__)' \
  2>/dev/null || true)
if [ "${MMKD_SYSTEM_TORCH:-0}" = 1 ] && [ -n "$torch_version" ]; then
  say "using the machine's torch $torch_version"
elif [[ "$torch_version" != 2.13.0* ]]; then
  say "$step (pinned; never an unpinned torch)"
  "${pip[@]}" 'torch==2.13.0'
  torch_version=$("$py_bin" -c 'import torch; print(torch.__version__)')
fi

step='install build requirements'
say "$step"
"${pip[@]}" -r "$root/requirements/build.txt"

step='build the mmcv 2.1.0 wheel with compiled ops'
flavour=cpu
[ "$cuda" = 1 ] && flavour=cuda
wheel_dir="$cache/wheels/torch-${torch_version//+/_}-$flavour"
mkdir -p "$wheel_dir"
wheel=$(ls "$wheel_dir"/mmcv-2.1.0-*.whl 2>/dev/null | head -n1 || true)
if [ -z "$wheel" ]; then
  say "$step ($flavour ops; takes about 8 minutes on 2 cores, done once)"
  build_tmp=$(mktemp -d)
  if [ "$cuda" = 1 ]; then
    export MMCV_WITH_OPS=1 FORCE_CUDA=1
  else
    export MMCV_WITH_OPS=1 FORCE_CUDA=0
  fi
  export MAX_JOBS="${MAX_JOBS:-$(nproc)}"
  "$py_bin" -m pip wheel --disable-pip-version-check --no-deps \
    --no-build-isolation -w "$build_tmp" 'mmcv==2.1.0'
  # Move into the cache only when complete, so a killed build leaves nothing.
  mv "$build_tmp"/mmcv-2.1.0-*.whl "$wheel_dir/"
  rm -rf "$build_tmp"
  wheel=$(ls "$wheel_dir"/mmcv-2.1.0-*.whl | head -n1)
else
  say "using the cached mmcv wheel $wheel"
fi

step='install mmcv, mmengine, mmdet and the test tools'
say "$step"
runtime="$root/requirements/runtime.txt"
if [ "${MMKD_SYSTEM_TORCH:-0}" = 1 ]; then
  # Keep the machine's torch: drop the CPU pin from the requirements.
  runtime=$(mktemp)
  grep -v '^torch' "$root/requirements/runtime.txt" >"$runtime"
fi
"${pip[@]}" "$wheel" -r "$runtime" \
  -r "$root/requirements/tests.txt" -r "$root/requirements/optional.txt"

step='install mmkd (editable)'
say "$step"
"${pip[@]}" --no-deps --no-build-isolation -e "$root"

step='check that the stack imports'
say "$step"
"$py_bin" -c 'import mmkd, mmdet, mmcv.ops; from mmkd.registry import MODELS'
stamp_of >"$stamp_file"
say "environment ready ($venv)"
