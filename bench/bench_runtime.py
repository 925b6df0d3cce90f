"""A stripped Go binary's types from its runtime descriptors: what is recovered, and how fast.

    .venv/bin/python bench/bench_runtime.py [TARGET] [--runs 3]

TARGET (default etcd) is a name from corpus/external.toml or MODULE/PATH@VERSION,
built twice through the module proxy as ``dwarfdiag investigate`` builds it: with
the compiler's defaults (the "opt" profile, DWARF kept) and with ``-ldflags=-s -w``
(the "stripped" profile). The twin oracle (tests/twins.py) then says how many of
the DWARF types that have a descriptor are recovered from the stripped twin, how
many agree exactly, and how many methods keep a signature that matches DWARF's.

Then, each command a fresh process with an empty DWARFDIAG_CACHE ("cold"), the
commands alternating in one loop so that all see the same machine load:

* pahole 1.32 + libbpf 1.7 (sid) ``--btf_encode_detached`` on the unstripped twin:
  the reference;
* ``dwarfdiag btf final`` on the unstripped twin (the DWARF path);
* ``dwarfdiag btf final`` on the stripped twin (every type from the descriptors);
* ``dwarfdiag inspect`` on the stripped twin (reads every piece of metadata: the
  build info, the pclntab, the moduledata, every descriptor and method table).

Medians and ratios to pahole are printed; machines are noisy, so quote those.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from bench_speed import run  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("target", nargs="?", default="etcd")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    from dwarfdiag.cache import cache_root
    from dwarfdiag.targets.resolve import resolve
    from dwarfdiag.toolchains.suites import ensure
    from twins import compare_twins

    plain = Path(resolve(args.target, profile="opt").binary)
    stripped = Path(resolve(args.target, profile="stripped").binary)
    report = compare_twins(plain, stripped)
    print(f"{args.target}: {plain} and {stripped}")
    print(f"  DWARF types with a descriptor: {report.dwarf_types} "
          f"({report.dwarf_structs} structs; {report.all_dwarf_structs} DWARF structs in all)")
    print(f"  recovered from the stripped twin: {report.recovered} "
          f"({100 * report.recovered / max(report.dwarf_types, 1):.1f}%), exact: "
          f"{report.exact} ({100 * report.exact / max(report.recovered, 1):.1f}%)")
    print(f"  functions in the pclntab: {report.functions}; methods with a signature: "
          f"{report.methods}, agreeing with DWARF: {report.methods_exact} "
          f"(registers of {report.registers_checked} parameters compared)")
    for line in (report.mismatches + report.method_mismatches)[:10]:
        print(f"  differs: {line}")

    sid = ensure("sid")
    toolchains = cache_root() / "toolchains"
    native = cache_root() / "native"
    native.mkdir(parents=True, exist_ok=True)
    dd = [sys.executable, "-m", "dwarfdiag"]
    work = Path(tempfile.mkdtemp(prefix="dwarfdiag-bench-runtime-"))
    commands = {
        "pahole 1.32 --btf_encode_detached, unstripped (sid)":
            sid.pahole_argv() + [f"--btf_encode_detached={work / 'sid.btf'}", str(plain)],
        "dwarfdiag btf final, unstripped (DWARF)":
            dd + ["btf", "final", str(plain), "-o", str(work / "dwarf.btf")],
        "dwarfdiag btf final, stripped (descriptors)":
            dd + ["btf", "final", str(stripped), "-o", str(work / "runtime.btf")],
        "dwarfdiag inspect, stripped (all metadata)":
            dd + ["inspect", str(stripped), "--json", "-o", str(work / "inspect.json")],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    peaks: dict[str, int] = {name: 0 for name in commands}
    saved = dict(os.environ)
    try:
        for n in range(args.runs):
            for name, argv in commands.items():
                cold = Path(tempfile.mkdtemp(prefix="cold-", dir=work))
                (cold / "toolchains").symlink_to(toolchains)  # downloaded once, shared
                (cold / "native").symlink_to(native)
                os.environ.clear()
                os.environ.update(saved, DWARFDIAG_CACHE=str(cold), DWARFDIAG_DEBUG_ROOT="")
                os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed
                wall, rss = run(argv)
                times[name].append(wall)
                peaks[name] = max(peaks[name], rss)
                print(f"run {n + 1}: {name}: {wall:.2f} s", file=sys.stderr)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    reference_name = next(iter(commands))
    reference = statistics.median(times[reference_name])
    print(f"median of {args.runs}, commands alternated, cold caches")
    print("| command | wall (median) | ratio to pahole 1.32 | peak RSS |")
    print("|---|---|---|---|")
    for name in commands:
        median = statistics.median(times[name])
        print(f"| `{name}` | {median:.2f} s | {median / reference:.2f}x | "
              f"{peaks[name] / 1024:.0f} MiB |")


if __name__ == "__main__":
    main()
