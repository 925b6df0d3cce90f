"""Work for the second core: one value computed in a forked child, sent back whole.

The machines dwarfdiag runs on have a second core that pure Python leaves
idle. Reading DWARF splits by compile unit and predicting every libbpf's
verdict splits by variant, and both produce plain data, so a child made by
``fork`` (sharing the parent's memory until either writes) computes one part
while the parent computes the other, and sends its value back through a pipe
as one ``marshal`` blob (plain data only: numbers, strings, bytes, lists,
tuples, dicts).

A BadInputError in the child reaches the caller as the same error, so a bad
input fails alike on one core or two. Anything else that stops the child
(a bug, a signal, running out of memory) yields :data:`LOST`, and the caller
computes the part itself, meeting the same error, if any, where it would have.
``DWARFDIAG_JOBS=1`` keeps everything in one process.

:func:`in_background` is the other use: a side effect nothing waits for (a
cache entry written while the command goes on), run by a child the process
reaps when it exits, so the entry is there once the command has returned.
A command of the script that reads one binary and ends (check, explain,
final, diff ...) puts that work off instead (:func:`detach_at_exit`): it runs
in a detached child once the command's output is out and the process leaves,
because a child working beside the command makes both pay for copied pages. A
reader that needs the entry meanwhile
waits for it (the lock files of :func:`dwarfdiag.cache.reserve`).
"""

from __future__ import annotations

import atexit
import marshal
import os
import signal
import warnings
from typing import Callable, Sequence

from dwarfdiag.errors import BadInputError

LOST = object()  # what Forked.result() gives when the child did not deliver
_BACKGROUND: list[int] = []  # children of in_background() not reaped yet
_DETACHING = False  # the script: background work waits for the process to leave
_PUT_OFF: list[tuple[Callable[[], object], tuple[int, ...]]] = []  # that work, in order


def second_core() -> bool:
    """Whether a forked child would run beside this process."""
    if os.environ.get("DWARFDIAG_JOBS", "") == "1" or not hasattr(os, "fork"):
        return False
    try:
        return len(os.sched_getaffinity(0)) >= 2
    except (AttributeError, OSError):
        return (os.cpu_count() or 1) >= 2


class Forked:
    """``work()`` running in a forked child from construction on.

    Use as a context manager: leaving it without taking the result (an error in
    the parent's own part) stops the child.
    """

    def __init__(self, work: Callable[[], object]):
        reader, writer = os.pipe()
        pid = _fork()
        if pid == 0:  # the child: compute, send, and leave without running any cleanup
            try:
                os.close(reader)
                try:
                    payload = ("ok", work())
                except BadInputError as e:
                    payload = ("bad", str(e))
                with os.fdopen(writer, "wb") as pipe:
                    pipe.write(marshal.dumps(payload))
            finally:
                os._exit(0)
        os.close(writer)
        self._pid: int | None = pid
        self._reader = reader

    def result(self) -> object:
        """The child's value (waiting for it), or LOST; its BadInputError, raised."""
        if self._pid is None:
            return LOST
        with os.fdopen(self._reader, "rb") as pipe:
            blob = pipe.read()
        os.waitpid(self._pid, 0)
        self._pid = None
        try:
            status, value = marshal.loads(blob)
        except (EOFError, ValueError, TypeError):
            return LOST
        if status == "bad":
            raise BadInputError(value)
        return value if status == "ok" else LOST

    def stop(self) -> None:
        if self._pid is None:
            return
        os.close(self._reader)
        try:
            os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)
        except OSError:
            pass
        self._pid = None

    def __enter__(self) -> "Forked":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class OnSecondCore:
    """``work()`` computed beside this process: in a forked child when there is a
    second core, else (or when the child is lost) here, when :meth:`result` is
    asked. Either way ``result()`` gives ``work()``'s value (plain data), and a
    BadInputError as :class:`Forked` raises it. A context manager, as Forked."""

    def __init__(self, work: Callable[[], object]):
        self.work = work
        self.child = Forked(work) if second_core() else None

    def result(self) -> object:
        found = self.child.result() if self.child is not None else LOST
        return self.work() if found is LOST else found

    def __enter__(self) -> "OnSecondCore":
        return self

    def __exit__(self, *exc) -> None:
        if self.child is not None:
            self.child.stop()


def _fork() -> int:
    with warnings.catch_warnings():
        # Python 3.12+ warns when a process with threads forks (rich's progress
        # display has one, check's pahole another): a lock another thread holds stays
        # locked in the child. The children here run only their ``work()`` on data of
        # this process, write to their own pipe or file and leave with os._exit: they
        # take no lock those threads use.
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*fork.*")
        return os.fork()


def in_background(work: Callable[[], object], handed: Sequence[int] = ()) -> None:
    """Run ``work()`` for its side effect in a forked child on the second core (here
    and now without one). Whatever stops the child is not this process's concern:
    the work must be something a later run can do again, as filling the cache is.
    ``handed``: descriptors the child needs (the locks of the entries it writes),
    closed here once it has them. After :func:`detach_at_exit`, the work waits for
    :func:`leave_work_behind`.
    """
    if not second_core():  # DWARFDIAG_JOBS=1: one process, the work done here, now
        _run_here(work, handed)
        return
    if _DETACHING:
        _PUT_OFF.append((work, tuple(handed)))
        return
    _reap_finished()  # a long run (investigate) forks one per binary: no zombies pile up
    pid = _fork()
    if pid == 0:
        try:
            work()
        finally:
            os._exit(0)
    _close(handed)
    if not _BACKGROUND:
        atexit.register(wait_for_background)
    _BACKGROUND.append(pid)


def when_idle(work: Callable[[], object], handed: Sequence[int] = ()) -> None:
    """``work()`` now, here; after :func:`detach_at_exit`, in the child that
    :func:`leave_work_behind` leaves, as :func:`in_background` work (a cache write
    the command itself would otherwise wait for)."""
    if _DETACHING and second_core():
        _PUT_OFF.append((work, tuple(handed)))
    else:
        _run_here(work, handed)


def detach_at_exit() -> None:
    """From now on background work waits until the process leaves: then
    :func:`leave_work_behind` starts it in a detached child. Only for a process that
    calls that as it leaves (the script)."""
    global _DETACHING
    _DETACHING = True


def leave_work_behind() -> None:
    """Start the put-off work in a child of its own session, its standard streams on
    /dev/null (a pipe the command writes to ends with the command), and return at
    once: the caller leaves, and the child finishes the work after it, each piece
    after the first in a child of its own. (With one core nothing is put off.)"""
    global _PUT_OFF
    work, _PUT_OFF = _PUT_OFF, []
    if not work:
        return
    handed = [fd for _, fds in work for fd in fds]
    try:
        pid = _fork()
    except OSError:
        return  # no process to spare: the next run fills the cache
    if pid:
        _close(handed)
        return
    try:  # the detached child: nothing it does may reach the command's caller
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        _close_all_but(handed)  # the caller's other descriptors are not ours to hold
        *others, (last, last_fds) = work
        for piece, fds in others:
            try:
                pid = _fork()
            except OSError:
                pid = -1  # no process to spare: this one does it
            if pid == 0:
                _close_all_but(fds)
                _quietly(piece, fds)
                os._exit(0)
            if pid > 0:
                _close(fds)
            else:
                _quietly(piece, fds)
        _quietly(last, last_fds)
    finally:
        os._exit(0)


def _quietly(work: Callable[[], object], handed: Sequence[int]) -> None:
    try:
        _run_here(work, handed)
    except BaseException:  # noqa: BLE001 - no one to tell: the next run does it again
        pass


def _run_here(work: Callable[[], object], handed: Sequence[int]) -> None:
    try:
        work()
    finally:
        _close(handed)  # whatever the work left of them


def _close_all_but(keep: Sequence[int]) -> None:
    """Close every descriptor above standard error except ``keep``."""
    try:
        open_fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        open_fds = list(range(3, 1024))
    _close([fd for fd in open_fds if fd > 2 and fd not in keep])


def _close(fds: Sequence[int]) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def _reap_finished() -> None:
    for pid in list(_BACKGROUND):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            _BACKGROUND.remove(pid)


def wait_for_background() -> None:
    """Reap the children of :func:`in_background` (at exit, and where a caller needs
    their effect now)."""
    while _BACKGROUND:
        try:
            os.waitpid(_BACKGROUND.pop(), 0)
        except ChildProcessError:
            pass
