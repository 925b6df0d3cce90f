#!/usr/bin/env bash
# The main job: install what is missing, then investigate the built-in corpus.
# Extra arguments go to 'dwarfdiag investigate' (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/dwarfdiag investigate "$@"
