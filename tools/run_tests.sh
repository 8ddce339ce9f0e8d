#!/usr/bin/env bash
# The README's test command: set up .venv (idempotent), then the test suite
# and the linters. Extra arguments go to pytest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash tools/setup_env.sh
py=.venv/bin/python
# The linters (one thread, about half a minute) run beside pytest, whose
# workers often wait on tool subprocesses and DDP ranks; their report
# follows pytest's.
lint_log=$(mktemp)
trap 'rm -f "$lint_log"' EXIT
lint() {
  "$py" -m flake8 mmkd tools tests configs || return 1
  "$py" -m isort --check-only --diff mmkd tools tests || return 1
  # yapf prints the diff of every file it would reformat and then fails.
  if ! "$py" -m yapf --diff --recursive mmkd tools tests; then
    echo '[tests] yapf would reformat the files above: run' \
      '.venv/bin/python -m yapf -i -r mmkd tools tests'
    return 1
  fi
}
lint >"$lint_log" 2>&1 &
lint_pid=$!
# Two pytest workers (pytest-xdist) of one thread each: most tests wait on
# tool subprocesses, DDP ranks or timeouts, so the two cores stay busy.
# MMKD_TEST_WORKERS=0 runs everything in this process.
workers=${MMKD_TEST_WORKERS:-2}
echo "[tests] pytest ($workers workers; flake8, isort and yapf beside it)" >&2
status=0
OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} "$py" -m pytest -q -n "$workers" "$@" \
  || status=$?
lint_status=0
wait "$lint_pid" || lint_status=$?
echo '[tests] lint: flake8, isort, yapf' >&2
cat "$lint_log" >&2
if [ "$lint_status" != 0 ]; then
  echo '[tests] the linters failed (above)' >&2
fi
if [ "$status" != 0 ] || [ "$lint_status" != 0 ]; then
  exit 1
fi
echo '[tests] all checks passed' >&2
