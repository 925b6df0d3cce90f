"""Every command against a user's mistakes and hostile files.

Each case runs the real CLI in a subprocess with a time limit and a memory
limit, and asserts the promise of the README: exit 0 (or 1 where 1 is a
verdict), or exit 2 with one line on stderr that names the file; never a
traceback, never a hang, and every input byte-for-byte unchanged.

CI runs a bounded set (one mutation seed per command and input class);
``DWARFDIAG_FUZZ_CASES=N`` runs N seeds of each mutation class.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from dwarfdiag.btf.build import BtfBuilder
from dwarfdiag.dwarf.constants import ATE_signed, At, Form, Tag
from dwarfwriter import D, Ref, Unit, base, cu, elf_with_dwarf

SEEDS = int(os.environ.get("DWARFDIAG_FUZZ_CASES", "1"))
TIME_LIMIT = 90
MEMORY_LIMIT = 2 << 30
HOSTILE = "main.\x1b]0;pwned\x07\n<script>alert(1)</script>\u009b31m"


def _program(name: str = "main.stateFn") -> Unit:
    """A gc-like typedef <-> func_proto cycle (fails under libbpf 1.5), named ``name``."""
    td = D(Tag.typedef, [(At.name, Form.string, name), (At.type, Form.ref4, Ref("fn"))],
           label="td")
    fn = D(Tag.subroutine_type, [(At.byte_size, Form.data1, 8), (At.type, Form.ref4, Ref("td"))],
           [D(Tag.formal_parameter, [(At.type, Form.ref4, Ref("td"))])], label="fn")
    t = D(Tag.structure_type, [(At.name, Form.string, "main.T"), (At.byte_size, Form.data1, 16)],
          [D(Tag.member, [(At.name, Form.string, "n"), (At.type, Form.ref4, Ref("int")),
                          (At.data_member_location, Form.data1, 0)]),
           D(Tag.member, [(At.name, Form.string, "f"), (At.type, Form.ref4, Ref("td")),
                          (At.data_member_location, Form.data1, 8)])])
    main = D(Tag.subprogram, [(At.name, Form.string, "main.main"), (At.low_pc, Form.addr, 0x1000),
                              (At.high_pc, Form.data4, 16)])
    return Unit(cu(base("int", 8, ATE_signed), td, fn, t, main), files=["/src/main.go"])


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("hostile-inputs")
    out = {}

    def put(name: str, data: bytes) -> None:
        out[name] = d / name
        out[name].write_bytes(data)

    elf = elf_with_dwarf(_program(), symbols=[("main.main", 0x1000, 2)])
    put("good.elf", elf)
    put("hostile-names.elf", elf_with_dwarf(_program(HOSTILE), symbols=[("main.main", 0x1000, 2)]))
    b = BtfBuilder()
    td = b.add_typedef("main.stateFn", 0)
    b.set_type(td, size_or_type=b.add_func_proto(td))
    put("good.btf", b.raw())
    put("empty", b"")
    put("random", random.Random(1).randbytes(4096))
    put("truncated.elf", elf[: len(elf) // 3])
    put("elf-magic-only", b"\x7fELF" + bytes(100))
    put("findings-number.json", b"1")
    put("findings-null.json", b"null")
    put("findings-matrix-1.json", b'{"kind": "findings", "schema": 2, "matrix": 1}')
    put("bisect-without-sets.json", json.dumps({"kind": "bisect", "schema": 2, "target": "x",
                                                "binary": "x", "input": "x",
                                                "search": {"full_types": 1}}).encode())
    put("deep.json", b"[" * 100_000 + b"]" * 100_000)
    (d / "a-directory").mkdir()
    out["a-directory"] = d / "a-directory"
    out["missing"] = d / "no-such-file"
    fifo = d / "a-fifo"
    os.mkfifo(fifo)
    out["a-fifo"] = fifo
    return out


def _mutants(data: bytes, seed: int, count: int = 8) -> bytes:
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(count):
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run(args: list[str], cache: Path, timeout: float = TIME_LIMIT) -> subprocess.CompletedProcess:
    env = {**os.environ, "DWARFDIAG_CACHE": str(cache), "DWARFDIAG_PIPE_WAIT": "2"}
    return subprocess.run([sys.executable, "-m", "dwarfdiag", *args], capture_output=True,
                          text=True, timeout=timeout, env=env, preexec_fn=_limits)


def _digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def assert_promise(proc: subprocess.CompletedProcess, named: list[Path],
                   verdict_codes: tuple[int, ...] = (0,)) -> None:
    where = f"{proc.args[3:]}: {proc.stderr[-500:]}"
    assert "Traceback" not in proc.stderr, where
    assert proc.returncode in (*verdict_codes, 2), where
    if proc.returncode == 2:
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("dwarfdiag: error: "), where
        if named:
            assert any(str(p) in lines[0] or p.name in lines[0] for p in named), where
    for stream in (proc.stdout, proc.stderr):
        assert "\x1b" not in stream and "\x07" not in stream and "\x9b" not in stream, where


# (command template, which placeholders are inputs, exit codes that are verdicts)
COMMANDS = [
    (["btf", "dump", "{btf}"], ()),
    (["btf", "dump", "{btf}", "--json"], ()),
    (["btf", "info", "{btf}"], ()),
    (["btf", "compare", "{btf}", "{btf}"], (1,)),
    (["btf", "encode", "{bin}", "-o", "{out}/x.btf"], ()),
    (["btf", "final", "{bin}", "-o", "{out}/f.btf", "--for", "kernel", "--compat", "1.1",
      "--no-load", "--names", "{out}/n.json"], ()),
    (["btf", "header", "{bin}", "-o", "{out}/types.h"], ()),
    (["dedup", "libbpf", "{btf}"], (1,)),
    (["dedup", "explain", "{btf}", "--libbpf", "1.5"], (1,)),
    (["dedup", "explain", "{bin}", "--libbpf", "1.5", "--json"], (1,)),
    (["dedup", "trace", "{btf}", "--libbpf", "1.5", "-o", "{out}/t.jsonl"], (1,)),
    (["bisect", "{bin}", "--no-repro", "--max-calls", "40", "--workers", "1",
      "--out-dir", "{out}/bisect"], (1,)),
    (["diff", "{bin}", "{bin}"], ()),
    (["probe", "{bin}", "main.main", "--out-dir", "{out}/kit"], ()),
    (["report", "{json}", "--out-dir", "{out}/report"], ()),
]
CLASSES = ["missing", "a-directory", "a-fifo", "empty", "random", "truncated.elf",
           "elf-magic-only", "flipped-elf", "flipped-btf"]
JSON_CLASSES = ["findings-number.json", "findings-null.json", "findings-matrix-1.json",
                "bisect-without-sets.json", "deep.json", "flipped-findings"]


def _cases():
    for template, verdicts in COMMANDS:
        classes = JSON_CLASSES if "{json}" in template else CLASSES
        for cls in classes:
            # the real libbpf (in-process) is an outside tool: that case is in the toolchain tier
            marks = [pytest.mark.toolchain] if template[:2] == ["dedup", "libbpf"] else []
            for seed in range(SEEDS if cls.startswith("flipped") else 1):
                yield pytest.param(template, verdicts, cls, seed, marks=marks,
                                   id=f"{template[0]}-{template[1].strip('{}')}-{cls}-{seed}")


@pytest.mark.parametrize("template, verdicts, cls, seed", list(_cases()))
def test_every_command_keeps_its_promise(inputs, tmp_path, template, verdicts, cls, seed):
    if cls == "flipped-elf":
        target = tmp_path / f"flipped-{seed}.elf"
        target.write_bytes(_mutants(inputs["good.elf"].read_bytes(), seed))
    elif cls == "flipped-btf":
        target = tmp_path / f"flipped-{seed}.btf"
        target.write_bytes(_mutants(inputs["good.btf"].read_bytes(), seed, 2))
    elif cls == "flipped-findings":
        from dwarfdiag.findings.schema import to_json
        from test_findings import _investigation

        target = tmp_path / f"flipped-{seed}.json"
        target.write_bytes(_mutants(to_json(_investigation()).encode(), seed, 3))
    else:
        target = inputs[cls]
    (tmp_path / "out").mkdir()
    args = [a.replace("{bin}", str(target)).replace("{btf}", str(target))
            .replace("{json}", str(target)).replace("{out}", str(tmp_path / "out"))
            for a in template]
    before = {p: _digest(p) for p in inputs.values()} | {target: _digest(target)}
    proc = run(args, tmp_path / "cache")
    assert_promise(proc, [target], verdicts + (1,) * (cls.startswith("flipped")
                                                      and template[0] == "btf"))
    assert {p: _digest(p) for p in before} == before, "an input was modified"
    leftovers = [p for p in (tmp_path / "out").rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


def test_valid_inputs_work(inputs, tmp_path):
    """The same commands succeed (or give their verdict) on the unbroken inputs (probe
    needs program headers, which the hand-written ELF has none of)."""
    for template, verdicts in COMMANDS[:-1]:
        if template[0] == "probe":
            continue
        args = [a.replace("{bin}", str(inputs["good.elf"]))
                .replace("{btf}", str(inputs["good.btf"])).replace("{out}", str(tmp_path))
                for a in template]
        proc = run(args, tmp_path / "cache")
        assert proc.returncode in verdicts + (0,), (args, proc.stderr)


def test_a_pipe_of_valid_btf_is_read_once(inputs, tmp_path):
    """``btf info <(cat good.btf)``: the pipe is read once, then recognised."""
    proc = subprocess.run(["bash", "-c", f"{sys.executable} -m dwarfdiag btf info --json "
                           f"<(cat {inputs['good.btf']})"], capture_output=True, text=True,
                          env={**os.environ, "DWARFDIAG_CACHE": str(tmp_path)}, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["types"] == 2


def test_hostile_names_are_escaped_on_the_terminal(inputs, tmp_path):
    elf = inputs["hostile-names.elf"]
    for args in (["dedup", "explain", str(elf), "--libbpf", "1.5"],
                 ["btf", "encode", str(elf), "-o", str(tmp_path / "h.btf")],
                 ["diff", str(elf), str(elf)]):
        proc = run(args, tmp_path / "cache")
        assert_promise(proc, [], (0, 1))
    explain = run(["dedup", "explain", str(elf), "--libbpf", "1.5"], tmp_path / "cache")
    assert "main.\\x1b]0;pwned\\x07\\n<script>" in explain.stdout  # visible, inert
    dump = run(["btf", "dump", str(tmp_path / "h.btf")], tmp_path / "cache")
    assert_promise(dump, [])
    doc = run(["dedup", "explain", str(elf), "--libbpf", "1.5", "--json"], tmp_path / "cache")
    names = {link["name"] for link in json.loads(doc.stdout)["first_failure"]["chain"]}
    assert HOSTILE in names  # JSON keeps the name exactly, escaped as JSON


@pytest.mark.parametrize("where", ["missing-dir", "directory", "fifo", "the-input"])
def test_output_paths_are_one_line_and_nothing_half_written(inputs, tmp_path, where):
    elf, btf = tmp_path / "in.elf", tmp_path / "in.btf"
    elf.write_bytes(inputs["good.elf"].read_bytes())
    btf.write_bytes(inputs["good.btf"].read_bytes())
    target = {"missing-dir": tmp_path / "nope" / "x.btf", "directory": tmp_path,
              "fifo": tmp_path / "fifo", "the-input": None}[where]
    if where == "fifo":
        os.mkfifo(target)
    before = {elf: _digest(elf), btf: _digest(btf)}
    for command, own_input in ((["btf", "encode", str(elf), "-o"], elf),
                               (["btf", "encode", str(elf), "-o", str(tmp_path / "ok.btf"),
                                 "--provenance"], elf),
                               (["dedup", "explain", str(btf), "--json", "-o"], btf),
                               (["diff", str(elf), str(elf), "-o"], elf)):
        out = target or own_input
        proc = run([*command, str(out)], tmp_path / "cache", timeout=60)
        assert_promise(proc, [out])
        assert proc.returncode == 2
    assert {p: _digest(p) for p in before} == before
    assert not list(tmp_path.glob(".*.tmp"))


def test_report_never_writes_over_its_input(inputs, tmp_path):
    from dwarfdiag.findings.schema import to_json
    from test_findings import _investigation

    out = tmp_path / "r"
    out.mkdir()
    findings = out / "findings.json"
    findings.write_text(to_json(_investigation()))
    before = _digest(findings)
    proc = run(["report", str(findings), "--out-dir", str(out)], tmp_path / "cache")
    assert proc.returncode == 2 and "never writes over its input" in proc.stderr
    assert _digest(findings) == before and not (out / "index.html").exists()


@pytest.mark.parametrize("args, message", [
    (["bisect", "x", "--libbpf", "foo"], "unknown libbpf variant 'foo'"),
    (["bisect", "x", "--max-calls", "0"], "--max-calls 0"),
    (["bisect", "x", "--timeout", "-1"], "--timeout -1"),
    (["bisect", "x", "--timeout", "nan"], "--timeout nan"),
    (["toolchains", "which", ""], "toolchains which takes one name"),
    (["dedup", "libbpf", "{btf}", "--library", "/lib/x86_64-linux-gnu/libc.so.6"], "is not libbpf"),
    (["dedup", "explain", "{btf}", "--toolchain", "nosuch"], "no toolchain named 'nosuch'"),
    (["dedup", "trace", "{btf}", "--focus", "999999"], "--focus 999999"),
    (["diff", "{bin}", "{bin}", "--limit", "-1"], "Invalid value for '--limit'"),
])
def test_cli_values_are_checked_at_the_edge(inputs, tmp_path, args, message):
    args = [a.replace("{btf}", str(inputs["good.btf"])).replace("{bin}", str(inputs["good.elf"]))
            for a in args]
    proc = run(args, tmp_path / "cache", timeout=60)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_a_decompression_bomb_fails_at_once(tmp_path):
    """A small file whose compressed .debug_info inflates to 2 GiB: one line, no time."""
    import struct
    import zlib

    from dwarfdiag.elf import ElfFile

    elf = tmp_path / "plain"
    elf.write_bytes(elf_with_dwarf(_program()))
    data = bytearray(elf.read_bytes())
    info = ElfFile(elf).section(".debug_info")
    bomb = zlib.compress(bytes(2 << 30 >> 4), 9) * 1  # 128 MiB of zeros, ~130 KB
    payload = struct.pack("<IIQQ", 1, 0, 2 << 30, 1) + bomb
    data += payload
    # point .debug_info at the payload and mark it SHF_COMPRESSED
    shoff = struct.unpack_from("<Q", data, 40)[0]
    index = info.index
    entry = shoff + index * 64
    struct.pack_into("<Q", data, entry + 8, 0x800)  # sh_flags
    struct.pack_into("<QQ", data, entry + 24, len(data) - len(payload), len(payload))
    path = tmp_path / "bomb"
    path.write_bytes(bytes(data))
    proc = run(["btf", "encode", str(path), "-o", str(tmp_path / "o.btf")], tmp_path / "cache",
               timeout=30)
    assert proc.returncode == 2 and "decompression bomb" in proc.stderr, proc.stderr
    assert re.search(r"^dwarfdiag: error: .*bomb", proc.stderr)


def test_a_tool_that_never_returns_is_stopped_and_named(inputs, tmp_path, toolchain):  # cc
    hang = tmp_path / "pahole"
    hang.write_text("#!/bin/sh\nexec sleep 600\n")
    hang.chmod(0o755)
    env = {**os.environ, "DWARFDIAG_CACHE": str(tmp_path / "cache"), "DWARFDIAG_TOOL_TIMEOUT": "2"}
    proc = subprocess.run([sys.executable, "-m", "dwarfdiag", "check", str(inputs["good.elf"]),
                           "--pahole", str(hang)], capture_output=True, text=True, env=env,
                          timeout=60)
    assert proc.returncode == 2 and "did not finish in 2 s" in proc.stderr, proc.stderr
    assert "pahole" in proc.stderr


@pytest.mark.parametrize("forced", [False, True])
def test_progress_is_drawn_only_where_rich_sees_a_terminal(inputs, tmp_path, forced):
    """dwarfdiag decides without rich (not imported for a pipe) whether rich would
    draw: on a pipe no progress, unless FORCE_COLOR makes rich take it for a
    terminal; then the binary's name in it is escaped as everywhere."""
    hostile = tmp_path / "bin\x1b[31mred"
    hostile.write_bytes(inputs["good.elf"].read_bytes())
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    if forced:
        env["FORCE_COLOR"] = "1"
    proc = subprocess.run([sys.executable, "-m", "dwarfdiag", "btf", "encode", str(hostile),
                           "-o", str(tmp_path / "out.btf")], capture_output=True, text=True,
                          env={**env, "DWARFDIAG_CACHE": str(tmp_path / "cache")}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    drawn = "reading" in proc.stderr or "encoding" in proc.stderr
    assert drawn == forced, proc.stderr
    assert "\x1b[31mred" not in proc.stderr  # the name's escape never reaches the terminal


def test_a_tool_that_says_more_than_a_pipe_holds_while_we_compute_is_heard_whole(tmp_path):
    """A tool's output goes to files, not to pipes our thread must empty: pahole 1.24
    says 1.3 MB of "not handled!" on podman-remote while this process reads DWARF, and
    a full pipe held it up. Every byte comes back, decoded as subprocess decodes."""
    import threading

    from dwarfdiag.toolchains.run import run_tool

    talker = tmp_path / "talker"
    talker.write_text("#!/bin/sh\n"
                      "i=0; while [ $i -lt 20000 ]; do\n"
                      "  echo \"die__process_unit: DW_TAG_constant @ <$i> not handled!\" >&2\n"
                      "  i=$((i+1)); done\n"
                      "printf 'out\\r\\nlast'\n")
    talker.chmod(0o755)
    box = {}
    worker = threading.Thread(target=lambda: box.update(proc=run_tool([talker], 60)))
    worker.start()
    busy = 0
    while worker.is_alive():  # this thread keeps the interpreter meanwhile
        busy = sum(range(10000)) + busy % 7
    worker.join()
    proc = box["proc"]
    err = proc.stderr.splitlines()
    assert proc.returncode == 0 and len(err) == 20000
    assert err[0] == "die__process_unit: DW_TAG_constant @ <0> not handled!"
    assert err[-1].endswith("<19999> not handled!")
    assert proc.stdout == "out\nlast"  # universal newlines, as text=True pipes give
    raw = run_tool([talker], 60, text=False)
    assert raw.stdout == b"out\r\nlast" and raw.stderr.count(b"\n") == 20000


@pytest.mark.toolchain
@pytest.mark.parametrize("cut", [1, 4096, "half"])
def test_real_binaries_cut_short(gc_seed_binary, tmp_path, cut):
    """A real gc binary a byte (or more) short, through the commands that run pahole,
    gdb-free probe and the capture: one line naming the file, exit 2."""
    data = gc_seed_binary.read_bytes()
    short = tmp_path / "short"
    short.write_bytes(data[: len(data) // 2 if cut == "half" else len(data) - cut])
    for args in (["probe", str(short), "main.maFonctionTest"],
                 ["check", str(short)],
                 ["btf", "capture", str(short), "-o", str(tmp_path / "c.btf")],
                 ["dedup", "explain", str(short)]):
        proc = run(args, tmp_path / "cache")
        assert_promise(proc, [short], (0, 1))
