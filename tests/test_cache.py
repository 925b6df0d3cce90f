"""The cache: keyed by content, verified when read, atomic when written, bounded,
and never a reason to fail (an unusable cache degrades to none, with one warning)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dwarfdiag.target import of_file
from dwarfdiag import cache


@pytest.fixture()
def own_cache(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv("DWARFDIAG_CACHE", str(root))
    return root


def _encode(binary: Path, out: Path, env_cache: Path, *extra: str) -> subprocess.CompletedProcess:
    """The script, and then the cache writes it left to a detached child."""
    proc = subprocess.run([sys.executable, "-m", "dwarfdiag", "btf", "encode", str(binary),
                           "-o", str(out), *extra], capture_output=True, text=True,
                          env={**os.environ, "DWARFDIAG_CACHE": str(env_cache)})
    settle(env_cache)
    return proc


def settle(root: Path) -> None:
    """Wait for the cache writes a finished command left behind in ``root``."""
    saved = os.environ.get("DWARFDIAG_CACHE")
    os.environ["DWARFDIAG_CACHE"] = str(root)
    try:
        assert cache.wait_for_writers(timeout=120)
    finally:
        if saved is None:
            del os.environ["DWARFDIAG_CACHE"]
        else:
            os.environ["DWARFDIAG_CACHE"] = saved


def test_a_content_change_at_the_same_size_is_a_new_key(own_cache, gc_seed_binary, tmp_path):
    """Changing bytes inside .debug_info without changing the size (or the build
    ids) must not be answered from the old entry."""
    from dwarfdiag.elf import ElfFile

    first = tmp_path / "first.btf"
    assert _encode(gc_seed_binary, first, own_cache).returncode == 0
    changed = tmp_path / "changed"
    data = bytearray(gc_seed_binary.read_bytes())
    info = ElfFile(gc_seed_binary).section(".debug_info")
    data[info.offset + info.size - 1] ^= 0xFF  # the last compressed byte
    changed.write_bytes(bytes(data))
    os.utime(changed, ns=(gc_seed_binary.stat().st_atime_ns, gc_seed_binary.stat().st_mtime_ns))
    assert cache.derived_key(changed, "x") != cache.derived_key(gc_seed_binary, "x")
    proc = _encode(changed, tmp_path / "second.btf", own_cache)
    assert "[cached]" not in proc.stdout
    assert proc.returncode == 2 and "corrupt" in proc.stderr  # cold and warm agree


@pytest.mark.parametrize("size", [100, cache.SPLIT_DIGEST_BYTES - 1, cache.SPLIT_DIGEST_BYTES + 3])
def test_every_byte_of_a_file_is_in_its_digest(tmp_path, size):
    """Small files are hashed whole, big ones as two halves at once: either way a
    changed byte anywhere (first, middle, last) is another digest."""
    import hashlib

    data = bytearray(os.urandom(size))
    path = tmp_path / "f"
    path.write_bytes(bytes(data))
    digest = cache.file_digest(path)
    if size < cache.SPLIT_DIGEST_BYTES:
        assert digest == hashlib.sha256(data).hexdigest()
    else:
        half = size // 2
        assert digest == hashlib.sha256(hashlib.sha256(data[:half]).digest()
                                        + hashlib.sha256(data[half:]).digest()).hexdigest()
    seen = {digest}
    for at in (0, size // 2 - 1, size // 2, size - 1):
        data[at] ^= 0x01
        changed = tmp_path / f"changed{at}"
        changed.write_bytes(bytes(data))
        data[at] ^= 0x01
        seen.add(cache.file_digest(changed))
    assert len(seen) == 5


def test_garbage_and_truncated_entries_are_misses(own_cache, gc_seed_binary, tmp_path):
    out = tmp_path / "a.btf"
    assert _encode(gc_seed_binary, out, own_cache).returncode == 0
    good = out.read_bytes()
    entries = sorted((own_cache / "derived").rglob("*.bin"))
    assert {e.parent.name for e in entries} >= {"typegraph", "encoded"}
    for n, entry in enumerate(entries):
        blob = entry.read_bytes()
        entry.write_bytes(blob[: len(blob) // 2] if n % 2 else b"DWDC" + os.urandom(64))
    proc = _encode(gc_seed_binary, out, own_cache)
    assert proc.returncode == 0, proc.stderr
    assert "[cached]" not in proc.stdout and out.read_bytes() == good
    proc = _encode(gc_seed_binary, out, own_cache)
    assert "[cached]" in proc.stdout and out.read_bytes() == good


def test_a_read_only_cache_degrades_with_one_warning(gc_seed_binary, tmp_path):
    # sysfs refuses new directories even to root: a read-only cache for any user
    proc = _encode(gc_seed_binary, tmp_path / "a.btf", Path("/sys/dwarfdiag-cache"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("warning: cache") == 1 and "Traceback" not in proc.stderr


def test_a_file_as_the_cache_degrades_with_one_warning(gc_seed_binary, tmp_path):
    bogus = tmp_path / "not-a-dir"
    bogus.write_text("x")
    out = tmp_path / "a.btf"
    proc = _encode(gc_seed_binary, out, bogus)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("warning: cache") == 1 and "Traceback" not in proc.stderr
    assert bogus.read_text() == "x" and out.exists()


def test_kill_mid_write_then_rerun(own_cache, gotool_binary, tmp_path):
    """A writer killed with SIGKILL leaves no entry that is served; the rerun gives
    what a clean run gives, and the stale temporary files are swept."""
    clean = tmp_path / "clean.btf"
    assert _encode(gotool_binary, clean, tmp_path / "clean-cache").returncode == 0
    out = tmp_path / "killed.btf"
    proc = subprocess.Popen([sys.executable, "-m", "dwarfdiag", "btf", "encode",
                             str(gotool_binary), "-o", str(out)],
                            env={**os.environ, "DWARFDIAG_CACHE": str(own_cache)})
    time.sleep(1.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    rerun = _encode(gotool_binary, out, own_cache)
    assert rerun.returncode == 0, rerun.stderr
    assert out.read_bytes() == clean.read_bytes()
    stale = own_cache / "derived" / "encoded" / ".left-over.bin.999.tmp"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"x" * 100)
    os.utime(stale, (time.time() - 2 * cache.STALE_TMP_SECONDS,) * 2)
    cache.sweep()
    assert not stale.exists()


def test_the_oldest_derived_entries_are_evicted_first(own_cache):
    for n in range(5):
        cache.store_derived("typegraph", f"k{n}", bytes(1000))
        os.utime(cache_entry(own_cache, f"k{n}"), (1000 + n, 1000 + n))
    assert cache.load_derived("typegraph", "k0") is not None  # using it makes it young
    removed, _ = cache.sweep(max_bytes=3 * 1100)
    left = sorted(p.stem for p in (own_cache / "derived" / "typegraph").glob("*.bin"))
    assert removed == 2 and left == ["k0", "k3", "k4"]


def cache_entry(root: Path, key: str) -> Path:
    return root / "derived" / "typegraph" / f"{key}.bin"


def test_cache_info_and_clean_commands(own_cache, gc_seed_binary, tmp_path):
    assert _encode(gc_seed_binary, tmp_path / "a.btf", own_cache).returncode == 0
    (own_cache / "builds").mkdir()
    (own_cache / "builds" / "kept").write_text("a build")
    run = lambda *a: subprocess.run([sys.executable, "-m", "dwarfdiag", "cache", *a],  # noqa: E731
                                    capture_output=True, text=True,
                                    env={**os.environ, "DWARFDIAG_CACHE": str(own_cache)})
    info = run("info", "--json")
    import json

    areas = {a["name"]: a for a in json.loads(info.stdout)["areas"]}
    assert areas["derived/typegraph"]["files"] == 1 and areas["derived/encoded"]["bytes"] > 0
    assert run("clean").returncode == 0
    assert not (own_cache / "derived").exists() and (own_cache / "builds" / "kept").exists()
    assert run("clean", "--all").returncode == 0
    assert not (own_cache / "builds").exists()


def test_keys_cover_content_code_and_python(monkeypatch, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"same")
    b.write_bytes(b"same")
    key = cache.derived_key(a, "x")
    assert cache.derived_key(b, "x") == key  # the path does not matter
    assert cache.derived_key(a, "y") != key
    monkeypatch.setattr(cache, "code_fingerprint", lambda: "other code")
    assert cache.derived_key(a, "x") != key
    monkeypatch.undo()
    monkeypatch.setattr(sys, "version_info", (3, 99, 0))
    assert cache.derived_key(a, "x") != key


def test_a_second_analysis_reads_the_encoding_and_no_dwarf(corpus, own_cache, monkeypatch):
    """What one command encoded, the next reads back: the same BTF bytes, warnings,
    functions left out and every type's provenance (written in many pieces here),
    without the DWARF or the encoder."""
    from dwarfdiag.btf import encoded_file
    from dwarfdiag.btf.encoded_file import encoded_binary
    from dwarfdiag.btf.raw import write_btf
    from dwarfdiag.dwarf.loader import load_typegraph
    from dwarfdiag.fork import wait_for_background

    binary = corpus("cgo", "gc")  # C functions pahole leaves out, too
    monkeypatch.setattr(encoded_file, "PROVENANCE_RUN", 7)
    fresh, fresh_raw = encoded_binary(binary, lambda: load_typegraph(binary))
    wait_for_background()  # the provenance entry is written by a child

    def no_dwarf():
        raise AssertionError("a cached encoding must not read the DWARF")

    cached, cached_raw = encoded_binary(binary, no_dwarf)
    assert cached_raw() == fresh_raw() == write_btf(cached.btf)
    assert cached.warnings == fresh.warnings and cached.skipped == fresh.skipped
    assert cached.skipped, "the cgo program has functions pahole leaves out"
    assert dict(cached.provenance) == dict(fresh.provenance)
    assert len(cached.provenance) == len(cached.btf.types) > 100


def test_an_encoding_without_its_provenance_is_encoded_again(own_cache, gc_seed_binary):
    from dwarfdiag.btf.encoded_file import encoded_binary
    from dwarfdiag.dwarf.loader import load_typegraph
    from dwarfdiag.fork import wait_for_background

    encoded_binary(gc_seed_binary, lambda: load_typegraph(gc_seed_binary))
    wait_for_background()
    for entry in (own_cache / "derived" / "provenance").iterdir():
        entry.write_bytes(b"damaged")
    reads = []

    def graph():
        reads.append(1)
        return load_typegraph(gc_seed_binary)

    again, _ = encoded_binary(gc_seed_binary, graph)
    assert reads == [1] and again.provenance[1]


def test_a_graph_read_for_the_encoder_is_cached_once_encoded(own_cache, gc_seed_binary):
    """BinaryAnalysis reads for the encoder only the function bodies it needs, and
    leaves the graph to the encoding's background child: once that is reaped, the
    graph's entry is there, what a read without function bodies gives."""
    from dwarfdiag.analysis import BinaryAnalysis
    from dwarfdiag.dwarf.constants import Tag
    from dwarfdiag.dwarf.loader import content_key, load_typegraph
    from dwarfdiag.fork import wait_for_background

    analysis = BinaryAnalysis(of_file(gc_seed_binary), function_bodies=False)
    analysis.encoded
    wait_for_background()
    assert cache.load_derived("typegraph", content_key(gc_seed_binary)) is not None
    cached = load_typegraph(gc_seed_binary, function_bodies=False)
    assert cached.cached and not cached.function_bodies
    read = load_typegraph(gc_seed_binary, use_cache=False, function_bodies=False)
    assert cached.to_data() == {**read.to_data(), "key": cached.key}
    # the one read for the encoder: those DIEs, and the bodies of what pahole may
    # encode (the runtime's assembly functions here), as a whole read has them
    encoders = analysis.graph
    assert encoders.encoder_bodies and not encoders.function_bodies
    whole = load_typegraph(gc_seed_binary, use_cache=False)
    assert set(cached.dies) <= set(encoders.dies) < set(whole.dies)
    assert all(whole.dies[o].attrs == d.attrs and whole.dies[o].parent == d.parent
               for o, d in encoders.dies.items())
    may_encode = [d for d in whole if d.tag == Tag.subprogram and "." not in (d.name or "")]
    assert may_encode and all(set(d.children) <= set(encoders.dies) for d in may_encode)


def test_function_bodies_are_an_entry_of_their_own(own_cache, gc_seed_binary, monkeypatch):
    """The graph's entry leaves out what lies inside functions; a whole load merges the
    bodies' entry back into DIE order, run by run (small runs here, so that many
    are merged), and without that entry it reads the DWARF again; a load without
    function bodies never needs it."""
    from dwarfdiag.dwarf import loader
    from dwarfdiag.dwarf.loader import BODIES, content_key, load_typegraph
    from dwarfdiag.dwarf.typegraph import TypeGraph

    monkeypatch.setattr(TypeGraph, "CHUNK_DIES", 97)
    reads = []
    real_read = loader.read_typegraph
    monkeypatch.setattr(loader, "read_typegraph", lambda *a: reads.append(1) or real_read(*a))
    read = load_typegraph(gc_seed_binary)  # read, then cached
    whole = load_typegraph(gc_seed_binary)
    assert reads == [1] and whole.to_data() == read.to_data()
    assert list(whole.dies) == sorted(whole.dies)  # DIE order, as read
    without = load_typegraph(gc_seed_binary, function_bodies=False)
    read.drop_function_bodies()
    assert reads == [1] and without.to_data() == read.to_data()

    key = content_key(gc_seed_binary)
    (own_cache / "derived" / BODIES / f"{key}.bin").unlink()
    load_typegraph(gc_seed_binary, function_bodies=False)
    assert reads == [1]
    again = load_typegraph(gc_seed_binary)
    assert reads == [1, 1] and again.to_data() == whole.to_data()


def test_entries_written_side_by_side_land_together_or_not_at_all(own_cache):
    def pieces(fail: bool):
        yield 0, b"first "
        yield 1, b"second "
        yield 0, b"entry"
        if fail:
            raise OSError("disk full")
        yield 1, b"entry"

    cache.store_derived_entries([("a", "k"), ("b", "k")], pieces(fail=False))
    assert cache.load_derived("a", "k") == b"first entry"
    assert cache.load_derived("b", "k") == b"second entry"
    cache.store_derived_entries([("a", "k2"), ("b", "k2")], pieces(fail=True))
    assert cache.load_derived("a", "k2") is None and cache.load_derived("b", "k2") is None
    assert not [p for p in (own_cache / "derived").rglob("*.tmp")]  # no temporary left


def test_btf_encode_leaves_what_an_analysis_needs(own_cache, gc_seed_binary):
    """``btf encode`` (with functions) fills the analyses' encoding, its provenance and
    the graph without function bodies: an explain after it reads no DWARF; without
    functions it is an entry of its own."""
    from dwarfdiag.btf.encoded_file import encode_file, encoded_binary
    from dwarfdiag.dwarf.loader import BODIES, content_key
    from dwarfdiag.fork import wait_for_background

    encoded = encode_file(gc_seed_binary)
    wait_for_background()

    def no_dwarf():
        raise AssertionError("an encoding btf encode left must not read the DWARF")

    analysed, raw = encoded_binary(gc_seed_binary, no_dwarf)
    assert raw() == encoded.raw and dict(analysed.provenance) == encoded.provenance
    key = content_key(gc_seed_binary)  # the graph's entry is there too (what the
    # encoder read leaves the function bodies it does not need out: no entry of theirs)
    assert cache.load_derived("typegraph", key) and cache.load_derived(BODIES, key) is None
    assert encode_file(gc_seed_binary).cached
    types_only = encode_file(gc_seed_binary, funcs=False)
    assert not types_only.cached and types_only.types < encoded.types


def test_a_reader_waits_for_an_entry_being_written(own_cache):
    """An entry reserved and handed to a child that writes it: a reader that misses
    waits for it; a child that dies without writing lets the reader go on at once."""
    fds = cache.reserve([("typegraph", "slow"), ("typegraph", "dies")])
    assert len(fds) == 2 and (own_cache / "derived" / "typegraph" / "slow.writing").exists()
    assert cache.load_derived("typegraph", "slow") is None  # ours, not handed: no wait
    pid = os.fork()
    if pid == 0:
        try:
            time.sleep(0.3)
            cache.store_derived("typegraph", "slow", b"written")
        finally:
            os._exit(0)
    for fd in fds:
        os.close(fd)  # handed over: the child holds both locks now
    start = time.monotonic()
    assert cache.load_derived("typegraph", "slow") == b"written"
    assert time.monotonic() - start < cache.MAX_WAIT_SECONDS
    os.waitpid(pid, 0)  # it ended without writing "dies": its lock went with it
    assert cache.load_derived("typegraph", "dies") is None
    assert not (own_cache / "derived" / "typegraph" / "slow.writing").exists()
    assert cache.wait_for_writers(timeout=5)


def test_a_command_returns_before_its_cache_writes_and_they_are_waited_for(
        own_cache, gotool_binary, tmp_path, monkeypatch):
    """The script leaves the graph's and the provenance's entries to a detached child:
    the next reader (here, right after the command) waits for them and reads no DWARF."""
    from dwarfdiag.btf.encoded_file import encoded_binary
    from dwarfdiag.dwarf import loader
    from dwarfdiag.dwarf.loader import load_typegraph

    proc = subprocess.run([sys.executable, "-m", "dwarfdiag", "btf", "encode",
                           str(gotool_binary), "-o", str(tmp_path / "a.btf")],
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "DWARFDIAG_CACHE": str(own_cache)})
    assert proc.returncode == 0, proc.stderr

    def no_dwarf(*args, **kwargs):
        raise AssertionError("the entries the command left must be waited for, not redone")

    monkeypatch.setattr(loader, "read_typegraph", no_dwarf)
    graph = load_typegraph(gotool_binary, function_bodies=False)  # waited for, if need be
    assert graph.cached and not graph.function_bodies
    encoded, raw = encoded_binary(gotool_binary, no_dwarf)  # and every type's provenance
    assert raw() == (tmp_path / "a.btf").read_bytes() and len(encoded.provenance) > 1000
    assert cache.wait_for_writers(timeout=5)
    assert not list((own_cache / "derived").rglob("*.writing"))


def test_cached_provenance_unpacks_a_piece_when_one_of_its_types_is_asked(
        own_cache, gc_seed_binary, monkeypatch):
    """Every type's provenance comes back from the cache as the encoder worked it out,
    its DIE offsets at once and each piece of entries only when asked for."""
    from dwarfdiag.btf import encoded_file
    from dwarfdiag.btf.encoder import encode
    from dwarfdiag.dwarf.loader import load_typegraph

    monkeypatch.setattr(encoded_file, "PROVENANCE_RUN", 97)  # many pieces
    enc = encode(load_typegraph(gc_seed_binary))
    encoded_file._store_provenance("k", enc.provenance)
    back = encoded_file._load_provenance("k")
    assert back is not None and len(back) == len(enc.provenance)
    some = sorted(enc.provenance)[len(enc.provenance) // 2]
    assert back[some] == enc.provenance[some]
    assert sum(run is not None for run in back._runs) == 1  # that piece alone
    assert all(back.die_offset(i) == enc.provenance[i].get("die_offset") for i in back)
    assert dict(back) == dict(enc.provenance)
    with pytest.raises(KeyError):
        back[len(enc.provenance) + 10]


def test_a_range_of_the_cached_graph_is_the_whole_graph_there(own_cache, gc_seed_binary):
    """load_typegraph_between: every unit, and the DIEs strictly between two offsets,
    each with the provenance the whole graph gives it where that needs no other DIE."""
    from dwarfdiag.dwarf.loader import load_typegraph, load_typegraph_between

    assert load_typegraph_between(gc_seed_binary, None, 1 << 40) is None  # a miss
    whole = load_typegraph(gc_seed_binary, function_bodies=False)
    offsets = list(whole.dies)
    lo, hi = offsets[len(offsets) // 3], offsets[2 * len(offsets) // 3]
    part = load_typegraph_between(gc_seed_binary, lo, hi)
    assert part is not None and list(part.dies) == [o for o in offsets if lo < o < hi]
    assert part.cus == whole.cus
    local = [d for d in part if part.provenance_is_local(d)]
    assert local and all(part.provenance(d) == whole.provenance(whole.dies[d.offset])
                         for d in local)
    assert list(load_typegraph_between(gc_seed_binary, None, offsets[5]).dies) == offsets[:5]
