#!/usr/bin/env bash
# Build the built-in corpus with every compiler into the cache
# ($DWARFDIAG_CACHE, default ~/.cache/dwarfdiag), never into git.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/dwarfdiag corpus build "$@"
