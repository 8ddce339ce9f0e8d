#!/usr/bin/env bash
# The README's main command: set up .venv (idempotent), then run the demo
# (teacher, student, distilled student on the generated dataset + report).
# Arguments go to tools/demo.py (e.g. --quick).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash tools/setup_env.sh
exec .venv/bin/python tools/demo.py "$@"
