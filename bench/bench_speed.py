"""dwarfdiag's commands against pahole on one binary, in one run: medians, ratios, peak RSS.

    .venv/bin/python bench/bench_speed.py TARGET [--runs 3]

TARGET is a binary or a name from corpus/external.toml (kubeadm, podman-remote,
...; built or taken from the cache as ``dwarfdiag investigate`` does). Every run
starts each command as a fresh process, the commands alternating in one loop so
all see the same machine load:

* pahole 1.32 + libbpf 1.7 (sid) ``--btf_encode_detached``: the reference;
* pahole 1.30 + libbpf 1.5 (trixie), which fails on gc binaries;
* ``dwarfdiag btf encode --no-cache`` (cold: DWARF read, pre-dedup BTF);
* ``dwarfdiag btf encode`` with its cache filled (warm);
* ``dwarfdiag btf final`` cold (an empty cache): what pahole 1.32 writes;
* ``dwarfdiag dedup explain --libbpf 1.5`` cold: why trixie fails, every
  independent failure, and the prediction for every libbpf version;
* ``dwarfdiag check --toolchain sid`` cold: runs sid's pahole itself, then checks
  its BTF against the DWARF type by type;
* ``dwarfdiag check`` cold: the same with the machine's own pahole, the default
  (Debian 12's 1.24, whose BTF of a gc binary drifts: tens of thousands of
  inconsistencies), beside that pahole's own run;
* ``dwarfdiag diff BINARY OTHER`` cold: OTHER is BINARY with one byte appended
  after the ELF's end, a different binary to dwarfdiag (another content key:
  its DWARF read again, as a diff of a gc and a gccgo build reads two), every Go
  type matched and classified; its ratio "on its inputs" is to pahole run on both
  binaries, twice the reference;
* final, explain, check and diff again, warm: the cache as these commands left it
  (what the second command of an investigation finds).

"cold" runs get an empty DWARFDIAG_CACHE of their own, so they read the DWARF
and encode from nothing (the downloaded toolchains and the C helpers dwarfdiag
compiles once, check's capture interposer, are shared: what a second binary
finds). dwarfdiag runs byte-compiled, as installed
(PYTHONDONTWRITEBYTECODE is dropped). Machines are noisy: quote medians and ratios.

A command gives the prompt back before the cache writes it put off are done (a
detached child finishes them, see dwarfdiag/fork.py). "wall" is until the
prompt; "cached" is until those writes are done too, which the bench waits for
before it starts the next command, so no run shares the machine with the last
one's writer. The writer's memory is not in "peak RSS" (no one waits for it); it
is a fork of the command, sharing its pages.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path



def run(argv: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB, from /usr/bin/time: wait4's ru_maxrss can report
    the forking parent's size) of one child process."""
    import subprocess
    import time

    with tempfile.NamedTemporaryFile("r") as report:
        start = time.perf_counter()
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", report.name, *argv],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        lines = [line for line in report.read().split() if line.isdigit()]
    return wall, int(lines[-1]) if lines else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("target")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    from dwarfdiag.cache import cache_root
    from dwarfdiag.targets.resolve import resolve
    from dwarfdiag.toolchains.suites import ensure, pahole_command

    binary = Path(resolve(args.target).binary)
    sid, trixie = ensure("sid"), ensure("trixie")
    toolchains = cache_root() / "toolchains"
    dd = [sys.executable, "-m", "dwarfdiag"]
    work = Path(tempfile.mkdtemp(prefix="dwarfdiag-bench-"))
    warm_cache = work / "warm-cache"
    warm_cache.mkdir()
    # shared, not fetched or compiled again: the unpacked pahole toolchains, and the
    # small C helpers dwarfdiag builds once (check's capture interposer)
    native = cache_root() / "native"
    native.mkdir(parents=True, exist_ok=True)
    (warm_cache / "toolchains").symlink_to(toolchains)
    (warm_cache / "native").symlink_to(native)
    env_warm = {**os.environ, "DWARFDIAG_CACHE": str(warm_cache)}
    other = work / f"{binary.name}-other"  # the same DWARF, other bytes: not shared
    other.write_bytes(binary.read_bytes() + b"\0")
    analyses = {
        "btf final": ["btf", "final", str(binary), "-o", str(work / "final.btf")],
        "dedup explain --libbpf 1.5": ["dedup", "explain", str(binary), "--libbpf", "1.5",
                                       "--json", "-o", str(work / "explain.json")],
        "check --toolchain sid": ["check", str(binary), "--toolchain", "sid", "--json", "-o",
                                  str(work / "check.json")],
        "check (the system's pahole)": ["check", str(binary), "--json", "-o",
                                        str(work / "check-system.json")],
        "diff BINARY OTHER": ["diff", str(binary), str(other), "--json", "-o",
                              str(work / "diff.json")],
    }
    # fill the warm cache once, as each command leaves it
    run_env(dd + ["btf", "encode", str(binary), "-o", str(work / "warm.btf")], env_warm)
    for argv in analyses.values():
        run_env(dd + argv, env_warm)

    commands = {
        "pahole 1.32 --btf_encode_detached (sid)":
            (sid.pahole_argv() + [f"--btf_encode_detached={work / 'sid.btf'}", str(binary)], None),
        "pahole 1.30 --btf_encode_detached (trixie)":
            (trixie.pahole_argv() + [f"--btf_encode_detached={work / 'trixie.btf'}",
                                     str(binary)], None),
        "the system's pahole --btf_encode_detached":
            (pahole_command(None, None)[0] + [f"--btf_encode_detached={work / 'system.btf'}",
                                              str(binary)], None),
        "dwarfdiag btf encode --no-cache (cold)":
            (dd + ["btf", "encode", str(binary), "-o", str(work / "cold.btf"), "--no-cache"],
             "cold"),
        "dwarfdiag btf encode (warm)":
            (dd + ["btf", "encode", str(binary), "-o", str(work / "warm.btf")], env_warm),
        **{f"dwarfdiag {name} (cold)": (dd + argv, "cold") for name, argv in analyses.items()},
        **{f"dwarfdiag {name} (warm)": (dd + argv, env_warm) for name, argv in analyses.items()},
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    settled: dict[str, list[float]] = {name: [] for name in commands}
    peaks: dict[str, int] = {name: 0 for name in commands}
    for n in range(args.runs):
        for name, (argv, env) in commands.items():
            if env == "cold":
                cold = Path(tempfile.mkdtemp(prefix="cold-", dir=work))
                # derived data cold; the toolchains and helpers shared, as above
                (cold / "toolchains").symlink_to(toolchains)
                (cold / "native").symlink_to(native)
                env = {**os.environ, "DWARFDIAG_CACHE": str(cold)}
            wall, rss, cached = run_env(argv, env)
            times[name].append(wall)
            settled[name].append(cached)
            peaks[name] = max(peaks[name], rss)
            print(f"run {n + 1}: {name}: {wall:.2f} s ({cached:.2f} s cached)",
                  file=sys.stderr)
    reference = statistics.median(times["pahole 1.32 --btf_encode_detached (sid)"])
    ref_rss = peaks["pahole 1.32 --btf_encode_detached (sid)"]
    print(f"{binary} ({binary.stat().st_size / 2**20:.0f} MiB), median of {args.runs}, "
          f"commands alternated")
    print("| command | wall (median) | ratio to pahole 1.32 | ratio to pahole 1.32 on "
          "its inputs | cached (median) | peak RSS | RSS ratio |")
    print("|---|---|---|---|---|---|---|")
    for name in commands:
        median = statistics.median(times[name])
        # diff reads two binaries: pahole encodes both to say as much (OTHER is BINARY
        # and a byte, so pahole takes as long on it)
        inputs = 2 if "diff BINARY OTHER" in name else 1
        print(f"| `{name}` | {median:.2f} s | {median / reference:.2f}x | "
              f"{median / (inputs * reference):.2f}x | "
              f"{statistics.median(settled[name]):.2f} s | "
              f"{peaks[name] / 1024:.0f} MiB | {peaks[name] / ref_rss:.2f}x |")


def run_env(argv: list[str], env: dict | None) -> tuple[float, int, float]:
    """:func:`run` under ``env``, and the seconds until the cache writes the command
    left behind are done too."""
    import time

    from dwarfdiag.cache import wait_for_writers

    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env if env is not None else saved)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: byte-compiled
    try:
        wall, rss = run(argv)
        start = time.perf_counter()
        if env is not None and not wait_for_writers():
            sys.exit(f"{argv}: its cache writes were still going after two minutes")
        return wall, rss, wall + time.perf_counter() - start
    finally:
        os.environ.clear()
        os.environ.update(saved)


if __name__ == "__main__":
    main()
