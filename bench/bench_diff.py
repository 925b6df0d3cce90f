"""Time ``dwarfdiag diff`` cold and warm against loading both binaries.

    .venv/bin/python bench/bench_diff.py [A B] [--runs N]

Without arguments: GOROOT's cmd/go built by gc 1.27 at -N -l and optimised
(two cmd/go-sized binaries). "load both" is ``load_typegraph`` of each with
an empty cache (the cold floor any diff pays); "cold diff" runs the command
with an empty cache; "warm diff" with the cache filled. Fresh processes,
medians. Targets: cold within 3x load-both, warm within 2 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def wall(argv: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def default_pair() -> list[Path]:
    from dwarfdiag.corpus.build import build
    from dwarfdiag.corpus.catalogue import select_programs
    from dwarfdiag.toolchains.go import gc

    program = select_programs(["gotool"])[0]
    return [Path(build(program, gc(), profile).binary) for profile in ("debug", "opt")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pair", nargs="*", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    a, b = args.pair if len(args.pair) == 2 else default_pair()
    load = [sys.executable, "-c", "import sys; from dwarfdiag.dwarf.loader import load_typegraph;"
            " [load_typegraph(p) for p in sys.argv[1:]]", str(a), str(b)]
    diff = [sys.executable, "-m", "dwarfdiag", "diff", str(a), str(b)]
    loads, colds, warms = [], [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as c1, tempfile.TemporaryDirectory() as c2:
            loads.append(wall(load, {**os.environ, "DWARFDIAG_CACHE": c1}))
            env = {**os.environ, "DWARFDIAG_CACHE": c2}
            colds.append(wall(diff, env))
            warms.append(wall(diff, env))
    ml, mc, mw = (statistics.median(x) for x in (loads, colds, warms))
    print(f"{a.name} vs {b.name} ({args.runs} runs each)")
    print(f"  load both (cold)  median {ml:6.2f} s")
    print(f"  diff cold         median {mc:6.2f} s  ({mc / ml:.1f}x load both)")
    print(f"  diff warm         median {mw:6.2f} s")


if __name__ == "__main__":
    main()
