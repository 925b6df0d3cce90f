"""Time `dwarfdiag btf dump` against `bpftool btf dump file` on the same file.

    .venv/bin/python bench/bench_dump.py [FILE] [--runs N]

FILE defaults to /sys/kernel/btf/vmlinux. Both tools run as subprocesses in
the same loop, alternating, so they see the same machine load; the script
prints each tool's median wall time and the ratio. Machines are noisy: quote
medians and ratios, not single runs.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time


def wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", nargs="?", default="/sys/kernel/btf/vmlinux")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    bpftool = shutil.which("bpftool") or "/usr/sbin/bpftool"
    ours_argv = [sys.executable, "-m", "dwarfdiag", "btf", "dump", args.file]
    theirs_argv = [bpftool, "btf", "dump", "file", args.file]
    ours, theirs = [], []
    for _ in range(args.runs):
        theirs.append(wall(theirs_argv))
        ours.append(wall(ours_argv))
    mo, mt = statistics.median(ours), statistics.median(theirs)
    print(f"file: {args.file} ({args.runs} runs each)")
    print(f"bpftool btf dump:   median {mt:.3f} s")
    print(f"dwarfdiag btf dump: median {mo:.3f} s")
    print(f"ratio dwarfdiag/bpftool: {mo / mt:.1f}x")


if __name__ == "__main__":
    main()
