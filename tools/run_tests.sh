#!/usr/bin/env bash
# The README's test command: set up .venv (idempotent), run the test suite,
# then the linters. Extra arguments go to pytest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash tools/setup_env.sh
py=.venv/bin/python
# Two pytest workers (pytest-xdist) of one thread each: most tests wait on
# tool subprocesses, DDP ranks or timeouts, so the two cores stay busy.
# MMKD_TEST_WORKERS=0 runs everything in this process.
workers=${MMKD_TEST_WORKERS:-2}
echo "[tests] pytest ($workers workers)" >&2
OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} "$py" -m pytest -q -n "$workers" "$@"
echo '[tests] lint: flake8, isort, yapf' >&2
"$py" -m flake8 mmkd tools tests configs
"$py" -m isort --check-only --diff mmkd tools tests
# yapf prints the diff of every file it would reformat and then fails.
if ! "$py" -m yapf --diff --recursive mmkd tools tests; then
  echo '[tests] yapf would reformat the files above: run' \
    '.venv/bin/python -m yapf -i -r mmkd tools tests' >&2
  exit 1
fi
echo '[tests] all checks passed' >&2
