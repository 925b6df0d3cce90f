"""Time `dwarfdiag btf encode` (cold and warm) against pahole on the same binaries.

    .venv/bin/python bench/bench_encode.py [BINARY ...] [--runs N] [--pahole PATH]

Without BINARY it builds GOROOT's cmd/go and cmd/compile with gc 1.27 (the
corpus' gotool and compile stand-ins, default optimised flags, as docs/facts.md
measured them) through the corpus builder and uses those. Each run starts
every tool as a fresh process, alternating in one loop so all see the same
machine load:

* pahole:  ``pahole --btf_encode_detached`` (Debian 12's 1.24 by default);
* cold:    ``dwarfdiag btf encode --no-cache`` (reads DWARF, encodes);
* warm:    ``dwarfdiag btf encode`` with the cache filled by a first run.

It prints medians, the ratios to pahole, and each tool's peak RSS (from
wait4). pahole's time includes its dedup; ours stops before dedup, as
pahole's own encoder does. Quote medians and ratios: machines are noisy.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(argv: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss


def corpus_binaries() -> list[Path]:
    from dwarfdiag.corpus.build import build
    from dwarfdiag.corpus.catalogue import select_programs
    from dwarfdiag.toolchains.go import gc

    out = []
    for program in select_programs(["gotool", "compile"]):
        print(f"building {program.name} (gc, opt) ...", file=sys.stderr)
        result = build(program, gc(), "opt")
        if result.status != "built":
            sys.exit(f"cannot build {program.name}: {result.message}")
        out.append(Path(result.binary))
    return out


def _built_in_child() -> list[Path]:
    # Build in a child: a forked tool inherits this process's RSS in
    # ru_maxrss, so this process must stay small.
    proc = subprocess.run([sys.executable, __file__, "--build-only"], check=True,
                          stdout=subprocess.PIPE, text=True)
    return [Path(line) for line in proc.stdout.split()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binaries", nargs="*", type=Path)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--pahole", default=shutil.which("pahole") or "/usr/bin/pahole")
    ap.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.build_only:
        print("\n".join(str(b) for b in corpus_binaries()))
        return
    binaries = args.binaries or _built_in_child()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.btf"
        ours = [sys.executable, "-m", "dwarfdiag", "btf", "encode", "-o", str(out)]
        for binary in binaries:
            tools = {
                "pahole": [args.pahole, f"--btf_encode_detached={out}", str(binary)],
                "cold": [*ours, "--no-cache", str(binary)],
                "warm": [*ours, str(binary)],
            }
            run(tools["warm"])  # fill the cache
            times: dict[str, list[float]] = {k: [] for k in tools}
            rss: dict[str, int] = {k: 0 for k in tools}
            for _ in range(args.runs):
                for name, argv in tools.items():
                    wall, kib = run(argv)
                    times[name].append(wall)
                    rss[name] = max(rss[name], kib)
            med = {k: statistics.median(v) for k, v in times.items()}
            print(f"{binary.name} ({binary.stat().st_size / 2**20:.0f} MiB, {args.runs} runs each)")
            for name in tools:
                ratio = med[name] / med["pahole"]
                print(f"  {name:<6} median {med[name]:6.3f} s  {ratio:5.2f}x pahole  "
                      f"peak RSS {rss[name] / 1024:7.0f} MiB")


if __name__ == "__main__":
    main()
