"""Open what the user named as input, whatever it turns out to be, without hanging.

Every input file (ELF, raw BTF, JSON) is opened here. A regular file is
memory-mapped read-only, so a 150 MB binary costs only the pages read. A pipe
or FIFO (``btf info <(cat x.btf)``) is read once into memory, up to
:data:`MAX_PIPE_BYTES`; it is opened non-blocking, so a FIFO nobody writes to
is an empty input after :data:`PIPE_WAIT_SECONDS`, never a hang. A
directory, a missing file or one we may not read is one clear error naming
the path. Nothing here ever writes.
"""

from __future__ import annotations

import errno
import mmap
import os
import select
import stat
import time
from pathlib import Path

from dwarfdiag.errors import BadInputError

MAX_PIPE_BYTES = int(os.environ.get("DWARFDIAG_MAX_PIPE_BYTES", 2 << 30))
PIPE_WAIT_SECONDS = float(os.environ.get("DWARFDIAG_PIPE_WAIT", 10))


def check_readable(path: Path) -> os.stat_result:
    """``stat`` of an input path, or BadInputError saying why it cannot be read."""
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise BadInputError(f"{path}: no such file") from None
    except PermissionError:
        raise BadInputError(f"{path}: permission denied") from None
    except OSError as e:
        raise BadInputError(f"{path}: cannot read: {e.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise BadInputError(f"{path}: is a directory, not a file")
    return st


def read_input(path: Path) -> bytes | mmap.mmap:
    """The whole input: a read-only map of a regular file, or a pipe's bytes."""
    path = Path(path)
    st = check_readable(path)
    if stat.S_ISREG(st.st_mode):
        try:
            with open(path, "rb") as f:
                try:
                    return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
                except (OSError, ValueError):
                    # empty, or a sysfs/procfs file (/sys/kernel/btf/vmlinux) that
                    # cannot be mapped: read it the plain way
                    return f.read()
        except OSError as e:
            raise BadInputError(f"{path}: cannot read: {e.strerror}") from None
    if stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode) or stat.S_ISSOCK(st.st_mode):
        return _read_stream(path)
    raise BadInputError(f"{path}: not a regular file or a pipe")


def _read_stream(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as e:
        raise BadInputError(f"{path}: cannot open: {e.strerror}") from None
    chunks: list[bytes] = []
    total = 0
    deadline = time.monotonic() + PIPE_WAIT_SECONDS
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                if chunks:
                    deadline = time.monotonic() + PIPE_WAIT_SECONDS  # a slow writer
                    continue
                raise BadInputError(f"{path}: nothing arrived on this pipe in "
                                    f"{PIPE_WAIT_SECONDS:.0f} s; is anything writing to it?")
            try:
                chunk = os.read(fd, 1 << 20)
            except BlockingIOError:
                continue
            except OSError as e:
                if e.errno == errno.EAGAIN:
                    continue
                raise BadInputError(f"{path}: cannot read: {e.strerror}") from None
            if not chunk:
                break  # every writer closed it (a FIFO no one opened reads as empty)
            total += len(chunk)
            if total > MAX_PIPE_BYTES:
                raise BadInputError(f"{path}: more than {MAX_PIPE_BYTES} bytes on a pipe; "
                                    f"save it to a file first (or raise "
                                    f"DWARFDIAG_MAX_PIPE_BYTES)")
            chunks.append(chunk)
            deadline = time.monotonic() + PIPE_WAIT_SECONDS
    finally:
        os.close(fd)
    return b"".join(chunks)
