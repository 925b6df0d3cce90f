"""The ``dwarfdiag`` command line: thin wrappers over the library.

Each command parses its options, calls the library and hands the result to
:func:`dwarfdiag.cli.output.emit` (text or ``--json``, stdout or ``-o``).
Every error the user can act on, a library error or a usage mistake, is one
line on stderr and exit code 2 (``--debug`` shows the traceback):
``dwarfdiag: error: <file or option>: <what is wrong>[; <how to fix it>]``.
"""

from __future__ import annotations

import atexit
import errno
import os
import sys
import threading
import traceback

import typer

import dwarfdiag.cache
from dwarfdiag import fork
from dwarfdiag.cli import analyze, btf, cache, corpus, dedup, investigate, toolchains  # noqa: F401
from dwarfdiag.cli.apps import State, app
from dwarfdiag.cli.output import printable
from dwarfdiag.errors import DwarfdiagError

# typer's parser raises click's UsageError (vendored in newer typer); find it
# through a public class rather than a private module
UsageError = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")


def _fail(message: str, code: int = 2) -> None:
    print(f"dwarfdiag: error: {printable(message)}", file=sys.stderr)
    sys.exit(code)


def main() -> None:
    """The ``dwarfdiag`` script: run the command, then leave at once (see
    :func:`_leave`)."""
    State.leaving_at_once = True
    try:
        _run()
    except SystemExit as e:
        _leave(e.code)


def _leave(code: object) -> None:
    """Exit with ``code`` as ``sys.exit`` would, without Python's teardown.

    A command that read a Go binary holds millions of small objects (the DIEs,
    the BTF, the replay's state); the interpreter's teardown frees them one by
    one, its work done. The operating
    system frees the process's memory at once. Everything teardown would do that
    matters is done here first: threads that are not daemons joined, output
    flushed, the cache writes the command put off handed to a detached child
    (:func:`dwarfdiag.fork.leave_work_behind`: the caller has its prompt back
    while they finish; a command interrupted leaves none), then the exit handlers
    (the fallback cache's removal). Only the script does this; the library and
    ``app`` (the tests' way in) exit as usual.
    """
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): printed, status 1
        print(code, file=sys.stderr)
        status = 1
    for thread in threading.enumerate():
        if not thread.daemon and thread is not threading.current_thread():
            thread.join()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed (a broken pipe) or gone
            pass
    if status != 130 and not dwarfdiag.cache.is_temporary():
        fork.leave_work_behind()
    atexit._run_exitfuncs()
    os._exit(status)


def _os_refusal(e: OSError) -> str:
    where = e.filename or "standard output"
    fix = {errno.ENOSPC: "free some space or write elsewhere (-o PATH)",
           errno.EDQUOT: "free some space or write elsewhere (-o PATH)",
           errno.EACCES: "check its permissions or write elsewhere (-o PATH)",
           errno.EROFS: "write elsewhere (-o PATH)"}.get(e.errno)
    return f"{where}: {e.strerror or e}" + (f"; {fix}" if fix else "")


def debug_anywhere(argv: list[str]) -> list[str]:
    """``argv`` without ``--debug`` wherever it stands (before a ``--``), which then
    turns tracebacks on: ``dwarfdiag check X --debug`` as ``dwarfdiag --debug check X``."""
    end = argv.index("--") if "--" in argv else len(argv)
    if "--debug" in argv[:end]:
        State.debug = True
        return [a for a in argv[:end] if a != "--debug"] + argv[end:]
    return argv


def _run() -> None:
    try:
        code = app(args=debug_anywhere(sys.argv[1:]), standalone_mode=False,
                   prog_name="dwarfdiag")
    except DwarfdiagError as e:
        if State.debug:
            traceback.print_exc()
        _fail(str(e))
    except UsageError as e:
        if State.debug:
            traceback.print_exc()
        command = e.ctx.command_path if getattr(e, "ctx", None) else "dwarfdiag"
        if type(e).__name__ == "NoArgsIsHelpError":  # a bare group: its help, as asked
            typer.echo(e.ctx.get_help() if e.ctx else "")
            sys.exit(0)
        _fail(f"{e.format_message().rstrip('.')} (see '{command} --help')")
    except BrokenPipeError:
        # output piped into head(1) and friends: nothing to say. (click catches it
        # first in a command and exits 1, quietly, as a writer killed by SIGPIPE fails)
        sys.stderr.close()
        sys.exit(1)
    except OSError as e:
        # what the system refuses outside any file we name (standard output on a full
        # disk, say): one line as for every error
        if State.debug:
            traceback.print_exc()
        _fail(_os_refusal(e))
    except (KeyboardInterrupt, typer.Abort):
        print("dwarfdiag: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code or 0)
