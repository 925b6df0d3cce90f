"""One output convention for every command, after sqlite-utils' ``output_options``.

* ``--json`` prints the result as JSON on stdout instead of text;
* ``-o/--output PATH`` writes that output to PATH instead (commands whose
  product is a file, such as ``btf encode``, write the product there and
  print the summary);
* ``--out-dir DIR`` names a directory for commands that write several files.

:func:`emit` renders every result: the text of its ``lines()`` or its JSON
(one spelling, :func:`dwarfdiag.findings.schema.to_json`). Text that came
from a binary is untrusted, so every line printed has its control
characters escaped (:func:`printable`): a type name cannot split a line or
send an escape sequence to the terminal. Files are written through
:func:`write_output`: never over an input, never half-written, and a
missing directory or a path of the wrong kind is one clear error.

:func:`~dwarfdiag.progress.progress` shows what a long step is doing, on a terminal only.
"""

from __future__ import annotations

import os
import re
import stat
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import typer

from dwarfdiag.cache import atomic_write
from dwarfdiag.errors import BadInputError
from dwarfdiag.progress import Reporter, progress  # noqa: F401 - the commands' one import
from dwarfdiag.textsafe import printable

_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u2028\u2029]")


def json_printable(text: str) -> str:
    """JSON text with the control characters json.dumps leaves raw (DEL, C1, the
    Unicode line separators) written as ``\\uXXXX``: still valid JSON, now safe."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def check_output(path: Path, inputs: Iterable[Path] = ()) -> Path:
    """Refuse an output path we cannot or must not write, with one clear line."""
    path = Path(path)
    for given in inputs:
        try:
            if Path(given).exists() and path.exists() and os.path.samefile(given, path):
                raise BadInputError(f"{path}: is also an input; dwarfdiag never writes over "
                                    f"its input, choose another output path")
        except OSError:
            continue
    if path.is_dir():
        raise BadInputError(f"{path}: is a directory; give a file name to write")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise BadInputError(f"{path}: directory {parent} does not exist; create it first")
    if path.exists() or path.is_symlink():
        try:
            mode = os.stat(path).st_mode
        except OSError as e:
            raise BadInputError(f"{path}: cannot write: {e.strerror}") from None
        if not (stat.S_ISREG(mode) or stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
            raise BadInputError(f"{path}: exists and is not a regular file; choose another "
                                f"output path")
    if not os.access(parent, os.W_OK):
        raise BadInputError(f"{path}: directory {parent} is not writable")
    return path


def check_outputs(outputs: dict[str, Path | None], inputs: Iterable[Path] = ()) -> None:
    """:func:`check_output` for each of a command's outputs (by option), and no two of
    them one file: one product would overwrite the other."""
    seen: dict[str, str] = {}
    for option, path in outputs.items():
        if path is None:
            continue
        check_output(path, inputs)
        where = os.path.realpath(path)
        if where in seen:
            raise BadInputError(f"{path}: both {seen[where]} and {option} would write it; "
                                f"give each output its own path")
        seen[where] = option


def check_out_dir(path: Path, inputs: Iterable[Path] = ()) -> Path:
    """A directory we may create and write into (its parent must exist)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise BadInputError(f"{path}: exists and is not a directory; choose another "
                            f"--out-dir")
    if not path.exists():
        parent = path.parent if str(path.parent) else Path(".")
        if not parent.is_dir():
            raise BadInputError(f"{path}: its parent directory {parent} does not exist; "
                                f"create it first")
        if not os.access(parent, os.W_OK):
            raise BadInputError(f"{path}: cannot create it, {parent} is not writable")
    elif not os.access(path, os.W_OK):
        raise BadInputError(f"{path}: directory is not writable")
    return path


def write_output(path: Path, data: bytes | str | Callable[[Callable[[str], object]], None],
                 inputs: Iterable[Path] = ()) -> Path:
    """Write ``data`` to ``path`` (or what ``data(write)`` writes, piece by piece):
    through a temporary file and a rename for a regular file (a reader never sees
    half of it); straight through for a device or a FIFO someone reads
    (``-o /dev/stdout``)."""
    path = check_output(path, inputs)
    produce = data if callable(data) else (lambda write: write(data))
    if path.exists() and not stat.S_ISREG(os.stat(path).st_mode):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as e:
            raise BadInputError(f"{path}: cannot write: {e.strerror}"
                                + (" (nothing reads this FIFO)" if e.errno == 6 else "")) \
                from None
        def write(piece: bytes | str) -> None:
            view = memoryview(piece.encode() if isinstance(piece, str) else piece)
            while view:  # a device or pipe may take less than all at once
                view = view[os.write(fd, view):]

        try:
            os.set_blocking(fd, True)
            produce(write)
        except OSError as e:
            raise BadInputError(f"{path}: cannot write: {e.strerror}") from None
        finally:
            os.close(fd)
        return path
    try:
        atomic_write(path, produce)
    except OSError as e:
        raise BadInputError(f"{path}: cannot write: {e.strerror}") from None
    return path


@contextmanager
def output_stream(path: Path, inputs: Iterable[Path] = ()) -> Iterator:
    """A text file to stream a long output into; it appears at ``path`` (renamed
    into place) only once complete, and not at all if the command fails."""
    path = check_output(path, inputs)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            yield f
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def echo(line: str = "", err: bool = False) -> None:
    """One line of text output, control characters escaped."""
    typer.echo(printable(line), err=err)


def emit(result: Any, as_json: bool, output: Path | None = None,
         text: Callable[[], Iterable[str]] | None = None,
         inputs: Iterable[Path] = (), kind: str | None = None) -> None:
    """Print (or write to ``output``) ``result`` as JSON or as text lines.

    ``text`` gives the lines; by default ``result.lines()``. In JSON every result is
    a document with ``kind`` and ``schema`` first: a findings document names itself,
    anything else is named ``kind`` (a list goes under ``items``).
    """
    if as_json:
        from dwarfdiag.findings.schema import json_chunks, labelled  # here: only for JSON

        document = labelled(result, kind)

        def rendered(write: Callable[[str], object]) -> None:
            json_chunks(document, write)  # written piece by piece as made, never joined
    else:
        lines = text() if text is not None else result.lines()
        whole = "".join(printable(line) + "\n" for line in lines)

        def rendered(write: Callable[[str], object]) -> None:
            write(whole)
    if output is None:
        rendered(sys.stdout.write)
        sys.stdout.flush()
    else:
        write_output(output, rendered, inputs)
        echo(f"wrote {output}", err=True)

