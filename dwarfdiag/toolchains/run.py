"""Run an outside tool (go, gccgo, pahole, apt-get, cc, a helper) with a bound on its time.

Every subprocess dwarfdiag starts goes through :func:`run_tool`: a tool that
never returns (a hung pahole, a go build waiting on a dead proxy) ends in one
clear error naming the command and the limit, never in a hang. The tool runs
in its own process group, so its children (the compiler a ``go build``
starts) are stopped with it. ``DWARFDIAG_TOOL_TIMEOUT`` (seconds, or
``dwarfdiag --tool-timeout``) overrides every per-tool default.
"""

from __future__ import annotations

import io
import os
import shlex
import signal
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Callable, Sequence

from dwarfdiag.errors import ToolchainError

ENV = "DWARFDIAG_TOOL_TIMEOUT"


def timeout_for(default: float) -> float:
    """The limit for a tool whose own default is ``default`` seconds."""
    value = os.environ.get(ENV)
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        raise ToolchainError(f"{ENV}={value!r} is not a number of seconds") from None
    if not seconds > 0:
        raise ToolchainError(f"{ENV}={value!r} must be more than 0 seconds")
    return seconds


def describe(argv: Sequence[str]) -> str:
    """The command as a user would type it, shortened: the tool and its arguments."""
    shown = [Path(argv[0]).name if os.sep in str(argv[0]) else str(argv[0]),
             *map(str, argv[1:])]
    text = shlex.join(shown)
    return text if len(text) <= 160 else text[:157] + "..."


def run_tool(argv: Sequence[str | os.PathLike], default_timeout: float = 600,
             input: str | bytes | None = None, text: bool = True,
             on_line: Callable[[str], None] | None = None,
             **kwargs) -> subprocess.CompletedProcess:
    """``subprocess.run`` with output captured and a time limit (see module docstring).

    ``on_line`` hears each line the tool writes on stderr as it comes (``go get``'s
    "downloading" lines make the progress display).
    """
    argv = [str(a) for a in argv]
    limit = timeout_for(default_timeout)
    if on_line is not None:
        return _run_streaming(argv, limit, on_line, **kwargs)
    # the output goes to files, not pipes: a pipe is emptied by a thread of ours, which
    # waits for the interpreter while this process computes, and a tool that fills the
    # pipe stops until then (pahole 1.24 prints a "not handled!" line per
    # DW_TAG_constant of a gc binary: tens of thousands)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = _start(argv, input is not None, text, kwargs, out, err)
        _within_limit(proc, argv, limit, lambda: proc.communicate(input, timeout=limit))
        return subprocess.CompletedProcess(argv, proc.returncode, _read_back(out, text),
                                           _read_back(err, text))


def _read_back(spool, text: bool) -> str | bytes:
    """What the tool wrote to ``spool``, decoded as ``subprocess`` decodes a pipe."""
    spool.seek(0)
    if not text:
        return spool.read()
    return io.TextIOWrapper(spool).read()  # the locale's encoding, universal newlines


def _start(argv: list[str], stdin: bool, text: bool, kwargs: dict,
           stdout=subprocess.PIPE, stderr=subprocess.PIPE) -> subprocess.Popen:
    """The tool started in a process group of its own (so a timeout stops its children)."""
    try:
        return subprocess.Popen(argv, stdout=stdout, stderr=stderr,
                                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                text=text, start_new_session=True, **kwargs)
    except FileNotFoundError:
        raise ToolchainError(f"cannot run {argv[0]}: no such program") from None
    except OSError as e:
        raise ToolchainError(f"cannot run {describe(argv)}: {e.strerror}") from None


def _within_limit(proc: subprocess.Popen, argv: list[str], limit: float, wait: Callable):
    """``wait()`` for the tool; past ``limit`` (or on any interruption) its whole
    process group is stopped."""
    try:
        return wait()
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise ToolchainError(f"{describe(argv)} did not finish in {limit:g} s and was stopped "
                             f"(raise the limit with --tool-timeout or {ENV})") from None
    except BaseException:
        _kill_group(proc)
        raise


def _run_streaming(argv: list[str], limit: float, on_line: Callable[[str], None],
                   **kwargs) -> subprocess.CompletedProcess:
    proc = _start(argv, False, True, kwargs)
    err_lines: list[str] = []
    out_chunks: list[str] = []

    def pump_err() -> None:
        for line in proc.stderr:
            err_lines.append(line)
            on_line(line.rstrip("\n"))

    def pump_out() -> None:
        out_chunks.append(proc.stdout.read())

    readers = [threading.Thread(target=pump_err, daemon=True),
               threading.Thread(target=pump_out, daemon=True)]
    for t in readers:
        t.start()
    _within_limit(proc, argv, limit, lambda: proc.wait(timeout=limit))
    for t in readers:
        t.join()
    return subprocess.CompletedProcess(argv, proc.returncode, "".join(out_chunks),
                                       "".join(err_lines))


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
