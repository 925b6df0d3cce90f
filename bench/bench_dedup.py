"""Time the dedup replay (tracing off, and tracing to JSONL) against real libbpf.

    .venv/bin/python bench/bench_dedup.py [BTF_OR_BINARY ...] [--runs N]

Without arguments it uses GOROOT's cmd/compile built by gc 1.27 (optimised),
encoded by dwarfdiag, and the same binary's pre-dedup BTF captured from
Debian 12's pahole 1.24 (which keeps Go functions, so it is much larger).
Real libbpf of the replayed version is timed on the same input in the same
loop: Debian 12's 1.1.2 in-process for ``--libbpf 1.1`` (the default), or the
trixie (1.5) / sid (1.7) toolchain's libbpf through the helper process, whose
time then includes starting it under its loader.
Prints medians and ratios. Machines are noisy: quote medians and ratios.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path


def inputs(paths: list[Path]) -> list[tuple[str, bytes]]:
    from dwarfdiag.btf.encoded_file import encode_file
    from dwarfdiag.elf import is_elf

    out = []
    for p in paths:
        out.append((p.name, encode_file(p).raw if is_elf(p) else p.read_bytes()))
    return out


def default_inputs() -> list[tuple[str, bytes]]:
    from dwarfdiag.btf.capture import capture
    from dwarfdiag.toolchains.suites import pahole_command
    from dwarfdiag.btf.encoded_file import encode_file
    from dwarfdiag.corpus.build import build
    from dwarfdiag.corpus.catalogue import select_programs
    from dwarfdiag.toolchains.go import gc

    print("building cmd/compile (gc, opt) ...", file=sys.stderr)
    result = build(select_programs(["compile"])[0], gc(), "opt")
    binary = Path(result.binary)
    captured = capture(binary, *pahole_command(None, None))
    return [("cmd/compile, dwarfdiag encoder", encode_file(binary).raw),
            ("cmd/compile, pahole 1.24 capture", captured.btf)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", type=Path)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--libbpf", default="1.1", help="variant to replay (default 1.1)")
    args = ap.parse_args()

    from dwarfdiag.btf.libbpf import system_oracle
    from dwarfdiag.btf.raw import parse_btf
    from dwarfdiag.dedup.driver import replay
    from dwarfdiag.dedup.trace import JsonlTracer
    from dwarfdiag.dedup.variants import variant

    v = variant(args.libbpf)
    if v.name == "1.1":
        oracle = system_oracle()
    else:
        from dwarfdiag.btf.libbpf import HelperLibbpf
        from dwarfdiag.toolchains.suites import ensure

        suite = {"1.5": "trixie", "1.7": "sid"}.get(v.name)
        if suite is None:
            sys.exit(f"no real libbpf {v.name} on this machine to compare with")
        oracle = HelperLibbpf.for_toolchain(ensure(suite))
    for name, raw in (inputs(args.paths) if args.paths else default_inputs()):
        btf = parse_btf(raw)
        plain, traced, real, lines = [], [], [], 0
        with tempfile.TemporaryDirectory() as tmp:
            for _ in range(args.runs):
                start = time.perf_counter()
                oracle.dedup(raw)
                real.append(time.perf_counter() - start)
                start = time.perf_counter()
                result = replay(btf, v)
                plain.append(time.perf_counter() - start)
                with open(Path(tmp) / "trace.jsonl", "w") as sink:
                    tracer = JsonlTracer(sink)
                    start = time.perf_counter()
                    replay(btf, v, trace=tracer)
                    traced.append(time.perf_counter() - start)
                lines = tracer.count
        mr, mp, mt = (statistics.median(x) for x in (real, plain, traced))
        verdict = "ok" if result.ok else f"fails {result.error}"
        print(f"{name}: {len(btf.types)} types, libbpf {v.name} {verdict} ({args.runs} runs)")
        print(f"  real libbpf {oracle.version}  median {mr:6.3f} s")
        print(f"  replay               median {mp:6.3f} s  ({mp / mr:.1f}x libbpf)")
        print(f"  replay + JSONL trace median {mt:6.3f} s  ({mt / mp:.1f}x replay, {lines} events)")


if __name__ == "__main__":
    main()
