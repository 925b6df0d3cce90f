"""Time ``dwarfdiag bisect`` on GOROOT's cmd/go and cmd/compile (gc 1.27, -N -l).

    .venv/bin/python bench/bench_bisect.py [TARGET ...] [--libbpf 1.5] [--runs N]

Runs the whole bisect (replay oracle, both cores, no reproducers) as a fresh
process per run and prints the median wall time, the oracle calls and the
sets found. The issue's budget is 60 s per binary on this machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("targets", nargs="*", default=["gotool", "compile"])
    ap.add_argument("--libbpf", default="1.5")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    for target in args.targets:
        walls, doc = [], {}
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as out:
                start = time.perf_counter()
                proc = subprocess.run([sys.executable, "-m", "dwarfdiag", "bisect", target,
                                       "--libbpf", args.libbpf, "--no-repro", "--json",
                                       "--out-dir", out], capture_output=True, text=True)
                walls.append(time.perf_counter() - start)
                if proc.returncode != 0:
                    sys.exit(proc.stderr)
                doc = json.loads(proc.stdout)
        search = doc["search"]
        sets = [s for s in search["sets"] if s["duplicate_of"] is None]
        print(f"{target}: {search['full_types']} types, median {statistics.median(walls):.1f} s "
              f"wall ({args.runs} runs), {search['calls']} oracle calls, {len(sets)} "
              f"independent set(s), stopped: {search['stopped']}")


if __name__ == "__main__":
    main()
