#!/usr/bin/env bash
# The whole test suite: install what is missing, then run pytest.
# Extra arguments go to pytest (e.g. -m slow for the long matrix tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
