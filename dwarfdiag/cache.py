"""Where dwarfdiag keeps what it builds, downloads and derives: never inside git.

``$DWARFDIAG_CACHE`` overrides the default ``$XDG_CACHE_HOME/dwarfdiag``
(``~/.cache/dwarfdiag``). Two kinds of entries live there:

* **downloads and builds** (``go/``, ``gccgo/``, ``toolchains/``, ``apt/``,
  ``builds/``, ``targets/``, ``native/``): keyed by what they are made of
  (a build by its source hash, compiler, version and flags); kept until
  ``dwarfdiag cache clean --all``;
* **derived data** (``derived/<area>/``: TypeGraphs, encoded BTF, diff
  cycles): keyed by :func:`derived_key`, which changes whenever the input's
  bytes, dwarfdiag's code, the Python version or the entry format does.
  Every entry starts with a digest of its payload and is verified before it
  is unmarshalled; anything unreadable is a miss. Entries are written
  through a temporary name and a rename, so a killed writer leaves no half
  entry. The oldest are evicted once the area passes :data:`MAX_DERIVED_BYTES`
  (``DWARFDIAG_CACHE_MAX``, default 2 GiB), and left-over temporary files
  of killed runs are swept.

A cache directory we cannot write (read-only, or ``$DWARFDIAG_CACHE`` naming
a file) degrades to a private temporary directory for this run, with one
warning: slower, never wrong, never a crash.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import struct
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterable, Iterator
from pathlib import Path

from dwarfdiag import __version__

FORMAT = 1  # bump when the envelope of derived entries changes
MAGIC = b"DWDC"
DERIVED = "derived"
MAX_DERIVED_BYTES = int(os.environ.get("DWARFDIAG_CACHE_MAX", 2 << 30))
STALE_TMP_SECONDS = 3600
_fallback: Path | None = None  # this run's temporary cache, when the real one is unusable
_fallback_for = ""  # the configured root it stands in for
_usable_roots: set[str] = set()


def _configured_root() -> Path:
    env = os.environ.get("DWARFDIAG_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "dwarfdiag"


def _usable(root: Path) -> bool:
    if str(root) in _usable_roots and root.is_dir():
        return True
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=root, prefix=".probe-", delete=True)
        probe.close()
    except OSError:
        return False
    _usable_roots.add(str(root))
    return True


def cache_root() -> Path:
    """The cache directory, or this run's private fallback if it cannot be written."""
    root = _configured_root()
    if _fallback is not None and _fallback_for == str(root):
        return _fallback
    if _usable(root):
        return root
    return _degrade(root)


def is_temporary() -> bool:
    """Is this run's cache a private temporary directory (removed as it exits)?"""
    return _fallback is not None


def _degrade(root: Path) -> Path:
    global _fallback, _fallback_for
    _fallback = Path(tempfile.mkdtemp(prefix="dwarfdiag-cache-"))
    _fallback_for = str(root)
    atexit.register(shutil.rmtree, _fallback, True)
    print(f"dwarfdiag: warning: cache {root} is not a writable directory; using a temporary "
          f"cache for this run (set DWARFDIAG_CACHE to a writable directory)", file=sys.stderr)
    return _fallback


def cache_dir(*parts: str) -> Path:
    d = cache_root().joinpath(*parts)
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError:
        d = _degrade(cache_root()).joinpath(*parts)
        d.mkdir(parents=True, exist_ok=True)
    return d


def atomic_write(path: Path, data: bytes | Callable[[Callable], None]) -> None:
    """Write ``data`` (or what ``data(write)`` writes, pieces of bytes or text, as
    UTF-8) to ``path`` through a private temporary name and a rename, so a reader
    never sees half a file, even when the writer is killed."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            def write(piece: bytes | str) -> None:
                f.write(piece.encode() if isinstance(piece, str) else piece)

            if callable(data):
                data(write)
            else:
                write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# --- derived data ---------------------------------------------------------------------
@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A hash of dwarfdiag's own source: any change to the code is a new key."""
    h = hashlib.sha256(__version__.encode())
    package = Path(__file__).parent
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".c") and path.is_file():
            h.update(str(path.relative_to(package)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


_digesting = threading.Lock()  # check's pahole thread and its reader ask at once


# Past this size a file's two halves are hashed at once, one per core (hashlib lets
# go of the interpreter): the digest is on the path of every cold command (pahole
# waits for the key of its capture, the reader for its own).
SPLIT_DIGEST_BYTES = 8 << 20


@lru_cache(maxsize=64)
def _file_digest(path: str, size: int, mtime_ns: int, inode: int) -> str:
    # memoised within one process only; across processes the bytes are hashed again
    from dwarfdiag.inputfile import read_input

    data = memoryview(read_input(Path(path)))
    try:
        if len(data) < SPLIT_DIGEST_BYTES:
            return hashlib.sha256(data).hexdigest()
        half = len(data) // 2
        second: list[bytes] = []
        other = threading.Thread(target=lambda: second.append(
            hashlib.sha256(data[half:]).digest()))
        other.start()
        first = hashlib.sha256(data[:half]).digest()
        other.join()
        return hashlib.sha256(first + second[0]).hexdigest()
    finally:
        data.release()  # the map closes with its last view


def file_digest(path: Path) -> str:
    """A SHA-256 digest of a regular file's bytes (of the SHA-256s of its halves for
    a big one): a key, never shown as the file's."""
    import stat

    from dwarfdiag.errors import BadInputError
    from dwarfdiag.inputfile import check_readable

    st = check_readable(Path(path))
    if not stat.S_ISREG(st.st_mode):
        raise BadInputError(f"{path}: a binary must be a regular file, not a pipe or device; "
                            f"save it to a file first")
    with _digesting:  # one thread hashes, the other gets its memo
        return _file_digest(str(path), st.st_size, st.st_mtime_ns, st.st_ino)


def derived_key(path: Path, *parts: object) -> str:
    """The key of data derived from the file at ``path`` by this very code."""
    import marshal

    basis = [file_digest(path), code_fingerprint(), f"py{sys.version_info[0]}."
             f"{sys.version_info[1]}", f"marshal{marshal.version}", f"format{FORMAT}", *parts]
    return hashlib.sha256(":".join(map(str, basis)).encode()).hexdigest()[:32]


def _entry(area: str, key: str) -> Path:
    return cache_dir(DERIVED, area) / f"{key}.bin"


# --- entries being written ------------------------------------------------------------
# An entry a command leaves to a child to write (after it has left, see
# dwarfdiag.fork) has a lock file beside it, ``<key>.writing``, locked (flock) from
# the reservation until the entry is in place. The lock is the writer's open file:
# the child that inherits it holds it until it has written the entry or died. A
# reader that misses such an entry waits for the lock instead of working it out again.
WRITING = ".writing"
MAX_WAIT_SECONDS = 120  # a writer slower than this is taken as stuck: the reader works
_reserved: dict[tuple[str, str], int] = {}  # this process's reservations: lock fds


def _lock_file(area: str, key: str) -> Path:
    return cache_dir(DERIVED, area) / f"{key}{WRITING}"


def reserve(entries: list[tuple[str, str]]) -> list[int]:
    """Mark ``entries`` (area, key) as being written: a lock file each, held by the
    returned descriptors, which the child that writes them inherits (hand them to
    :func:`dwarfdiag.fork.in_background`); writing an entry releases its lock. A
    lock that cannot be made is left out: a reader then simply misses."""
    import fcntl

    fds = []
    for area, key in entries:
        if _held_here(area, key):
            continue
        try:
            fd = os.open(_lock_file(area, key), os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # another run writes the same entry: its lock will do
            os.close(fd)
            continue
        _reserved[(area, key)] = fd
        fds.append(fd)
    return fds


def _held_here(area: str, key: str) -> bool:
    """Does this process still hold the entry's lock (not handed to a child)?"""
    fd = _reserved.get((area, key))
    if fd is None:
        return False
    try:
        held = os.path.samestat(os.fstat(fd), _lock_file(area, key).stat())
    except OSError:
        held = False
    if not held:
        del _reserved[(area, key)]  # handed over (and closed here) or taken away
    return held


def _release(area: str, key: str) -> None:
    fd = _reserved.pop((area, key), None)
    if fd is None:
        return
    try:
        _lock_file(area, key).unlink(missing_ok=True)
    except OSError:
        pass
    try:
        os.close(fd)
    except OSError:
        pass


def _wait_for_writer(area: str, key: str) -> None:
    """If another process holds the entry's lock, wait (at most MAX_WAIT_SECONDS) until
    the entry is in place or the writer is gone."""
    import fcntl

    if _held_here(area, key):
        return  # put off by this very process: it is written after it leaves
    lock, entry = _lock_file(area, key), _entry(area, key)
    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:
        return  # no writer (or it just finished: the entry is there)
    try:
        deadline, pause = time.monotonic() + MAX_WAIT_SECONDS, 0.002
        while time.monotonic() < deadline and not entry.exists():
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                return  # released: the writer finished or died
            except BlockingIOError:
                time.sleep(pause)
                pause = min(pause * 2, 0.05)
            except OSError:
                return
    finally:
        os.close(fd)


def wait_for_writers(timeout: float = MAX_WAIT_SECONDS) -> bool:
    """Wait until no entry of the cache is being written; False after ``timeout``.
    For whoever must see every entry a finished command left (tests, benchmarks)."""
    import fcntl

    deadline = time.monotonic() + timeout
    root = cache_root() / DERIVED
    locks = sorted(root.glob(f"*/*{WRITING}")) if root.is_dir() else []
    for lock in locks:
        try:
            fd = os.open(lock, os.O_RDONLY)
        except OSError:
            continue
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        return False
                    time.sleep(0.01)
        finally:
            os.close(fd)
    return True


def has_derived(area: str, key: str) -> bool:
    """Whether an entry is stored under ``key`` (unread: a hint, e.g. for planning
    work; :func:`load_derived` is what verifies it)."""
    return _entry(area, key).is_file()


def load_derived(area: str, key: str) -> bytes | None:
    """The payload stored under ``key``, verified; None on any miss or damage. An
    entry being written by another process (:func:`reserve`) is waited for."""
    path = _entry(area, key)
    if not path.exists():
        _wait_for_writer(area, key)
    try:
        with open(path, "rb") as f:
            header = f.read(36)  # magic + SHA-256; the payload read apart, never copied
            payload = f.read()
    except OSError:
        return None
    if len(header) < 36 or header[:4] != MAGIC:
        return None
    if hashlib.sha256(payload).digest() != header[4:36]:
        return None
    try:
        os.utime(path)  # recently used: evicted last
    except OSError:
        pass
    return payload


def store_derived_pieces(area: str, key: str, pieces: Iterable[bytes]) -> None:
    """Store the pieces, joined, as one entry under ``key``, written as they come (the
    payload is never whole in memory), atomically: through a private temporary name
    and a rename. A failure to write is not an error."""
    store_derived_entries([(area, key)], ((0, piece) for piece in pieces))


def store_derived_entries(entries: list[tuple[str, str]],
                          pieces: Iterable[tuple[int, bytes]]) -> None:
    """Several entries ``(area, key)`` written side by side from one stream of
    ``(entry index, piece)``: what one walk over a graph makes goes to two entries
    without a second walk. Each is atomic as in :func:`store_derived_pieces`; all
    are renamed into place only once every piece is written."""
    temps: list[str] = []
    try:
        files, digests = [], []
        try:
            for area, key in entries:
                path = _entry(area, key)
                fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                           dir=path.parent)
                temps.append(tmp)
                files.append(os.fdopen(fd, "wb"))
                files[-1].write(bytes(36))  # the header, once the digest is known
                digests.append(hashlib.sha256())
            for index, piece in pieces:
                digests[index].update(piece)
                files[index].write(piece)
            for f, digest in zip(files, digests):
                f.seek(0)
                f.write(MAGIC + digest.digest())
        finally:
            for f in files:
                f.close()
        for tmp, (area, key) in zip(temps, entries):
            os.chmod(tmp, 0o644)
            os.replace(tmp, _entry(area, key))
        _maybe_sweep()
    except OSError:
        pass
    finally:
        for tmp in temps:
            if os.path.exists(tmp):
                os.unlink(tmp)
        for area, key in entries:
            _release(area, key)  # written, or failed for good: readers go on


def store_derived(area: str, key: str, payload: bytes) -> None:
    """Store ``payload`` under ``key`` (atomically); a failure to write is not an error."""
    store_derived_pieces(area, key, [payload])


def framed(values: Iterable[object]) -> Iterator[bytes]:
    """Plain-data values as marshal blobs, each after its length (8 bytes, little
    endian), for :func:`store_derived_pieces`: one value made and dumped at a time,
    so a big document (a TypeGraph, every type's provenance) is never whole twice."""
    import marshal

    for value in values:
        blob = marshal.dumps(value)
        yield struct.pack("<Q", len(blob))
        yield blob


def unframed(payload: bytes) -> Iterator[object]:
    """The values :func:`framed` wrote, each loaded when it is reached; ValueError
    (or marshal's own errors) when the frames do not fill the payload."""
    for load in unframed_lazily(payload):
        yield load()


def unframed_lazily(payload: bytes) -> Iterator[Callable[[], object]]:
    """For each value :func:`framed` wrote, a function that loads it when called
    (the frames are found at once, nothing is unpacked): ValueError when the frames
    do not fill the payload."""
    import marshal

    view, at = memoryview(payload), 0
    while at < len(view):
        if at + 8 > len(view):
            raise ValueError("a frame's length is cut short")
        size, = struct.unpack_from("<Q", view, at)
        if at + 8 + size > len(view):
            raise ValueError("a frame runs past the entry")
        frame = view[at + 8:at + 8 + size]
        yield lambda frame=frame: marshal.loads(frame)
        at += 8 + size


# --- housekeeping ---------------------------------------------------------------------
@dataclass
class Area:
    name: str
    path: Path
    files: int
    bytes: int


def areas() -> list[Area]:
    """Every top-level area of the cache (derived areas one by one), with its size."""
    root = cache_root()
    out = []
    for top in sorted(p for p in root.iterdir() if p.is_dir()):
        subs = sorted(p for p in top.iterdir() if p.is_dir()) if top.name == DERIVED else [top]
        for d in subs:
            files = [f for f in d.rglob("*") if f.is_file() and not f.is_symlink()
                     and not f.name.endswith(WRITING)]  # a writer's lock is no entry
            label = f"{DERIVED}/{d.name}" if top.name == DERIVED else d.name
            out.append(Area(label, d, len(files), sum(f.stat().st_size for f in files)))
    return out


def _derived_files() -> list[Path]:
    root = cache_root() / DERIVED
    return [f for f in root.rglob("*") if f.is_file()] if root.is_dir() else []


def sweep(max_bytes: int = MAX_DERIVED_BYTES, now: float | None = None) -> tuple[int, int]:
    """Remove stale temporary files, then the least recently used derived entries until
    the derived data fits in ``max_bytes``. Returns (files removed, bytes freed)."""
    now = time.time() if now is None else now
    removed = freed = 0
    entries = []
    for f in [*_derived_files(), *cache_root().rglob(".*.tmp")]:
        try:
            st = f.stat()
        except OSError:
            continue
        if f.name.endswith((".tmp", WRITING)):  # a writer's, killed if this old
            if now - st.st_mtime > STALE_TMP_SECONDS:
                f.unlink(missing_ok=True)
                removed, freed = removed + 1, freed + st.st_size
            continue
        entries.append((st.st_mtime, st.st_size, f))
    total = sum(size for _, size, _ in entries)
    for _, size, f in sorted(entries):
        if total <= max_bytes:
            break
        f.unlink(missing_ok=True)
        total -= size
        removed, freed = removed + 1, freed + size
    return removed, freed


def _maybe_sweep() -> None:
    """Sweep at most once an hour (a stamp file says when it last ran)."""
    stamp = cache_root() / DERIVED / ".swept"
    try:
        if stamp.exists() and time.time() - stamp.stat().st_mtime < STALE_TMP_SECONDS:
            return
        stamp.touch()
    except OSError:
        return
    sweep()


def clean(everything: bool = False) -> tuple[int, int]:
    """Remove derived data (``everything``: also builds, downloads and toolchains)."""
    root = cache_root()
    targets = [p for p in root.iterdir() if p.is_dir()] if everything else [root / DERIVED]
    removed = freed = 0
    for target in targets:
        if not target.exists():
            continue
        for f in target.rglob("*"):
            if f.is_file() or f.is_symlink():
                try:
                    freed += f.lstat().st_size
                except OSError:
                    pass
                removed += 1
        shutil.rmtree(target, ignore_errors=True)
    return removed, freed
