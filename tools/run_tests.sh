#!/usr/bin/env bash
# The README's test command: set up .venv (idempotent), run the test suite,
# then the linters. Extra arguments go to pytest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash tools/setup_env.sh
py=.venv/bin/python
echo '[tests] pytest' >&2
OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} "$py" -m pytest -q "$@"
echo '[tests] lint: flake8, isort' >&2
"$py" -m flake8 mmkd tools tests configs
"$py" -m isort --check-only --diff mmkd tools tests
echo '[tests] all checks passed' >&2
