"""What a long step is doing: on a terminal a spinner, the stage in words and a bar;
on a pipe or in a CI log, plain lines once a step has run a few seconds.

Names from binaries reach the description, so they are escaped for rich markup
and for the terminal alike.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from contextlib import contextmanager
from typing import Iterator

from dwarfdiag.textsafe import printable


class Reporter:
    """What a long step tells the user: a stage in words, and bytes or items done."""

    def __init__(self, bar, task):
        self._bar, self._task = bar, task

    def stage(self, text: str) -> None:
        if self._bar is not None:
            from rich.markup import escape

            self._bar.update(self._task, description=escape(printable(text)))

    def advance(self, done: int, total: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=total)


# Off a terminal, a step says what it is doing once it has run this long, and then
# at most once a second: a short command prints nothing, a long one leaves a trail.
PLAIN_AFTER_SECONDS = 3.0
PLAIN_EVERY_SECONDS = 1.0


class PlainReporter(Reporter):
    """Progress as plain lines on stderr, for pipes and CI logs: nothing during the
    first seconds of a step, then its stage (and share done) whenever either changes,
    at most once a second."""

    def __init__(self, text: str):
        super().__init__(None, None)
        self._start = time.monotonic()
        self._text, self._done = text, ""
        self._printed = ("", "")
        self._last = 0.0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, daemon=True, name="progress")
        self._thread.start()

    def stage(self, text: str) -> None:
        with self._lock:
            self._text, self._done = text, ""
        self._maybe_print()

    def advance(self, done: int, total: int) -> None:
        with self._lock:
            self._done = f" ({100 * done // total}%)" if total else ""
        self._maybe_print()

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            self._maybe_print()

    def _maybe_print(self) -> None:
        now = time.monotonic()
        with self._lock:
            shown = (self._text, self._done)
            if (now - self._start < PLAIN_AFTER_SECONDS or now - self._last < PLAIN_EVERY_SECONDS
                    or shown == self._printed):
                return
            self._printed, self._last = shown, now
        try:
            print(f"dwarfdiag: {printable(shown[0])}{shown[1]} [{now - self._start:.0f} s]",
                  file=sys.stderr, flush=True)
        except (OSError, ValueError):  # stderr closed or gone: progress is not worth an error
            pass

    def close(self) -> None:
        self._stop.set()


@contextmanager
def progress(text: str, transient: bool = True) -> Iterator[Reporter]:
    """A spinner with elapsed time and, when told, a bar, on a terminal (stderr); off
    one, plain lines once a step has run a few seconds (:class:`PlainReporter`)."""
    if not _may_be_terminal():  # rich (a hundredth of a second to import) not needed
        yield from _plain(text)
        return
    from rich.console import Console

    console = Console(stderr=True)
    if not console.is_terminal:
        yield from _plain(text)
        return
    from rich.markup import escape
    from rich.progress import (BarColumn, Progress, SpinnerColumn, TextColumn,
                               TimeElapsedColumn)

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  TimeElapsedColumn(), console=console, transient=transient) as bar:
        task = bar.add_task(escape(printable(text)), total=None)
        yield Reporter(bar, task)


def _plain(text: str) -> Iterator[Reporter]:
    reporter = PlainReporter(text)
    try:
        yield reporter
    finally:
        reporter.close()


def _may_be_terminal() -> bool:
    """Might rich take stderr for a terminal: it is one, or rich's environment
    variables say to act as if (then rich's Console decides)."""
    try:
        if sys.stderr.isatty():
            return True
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False
    return bool(os.environ.get("FORCE_COLOR")) or os.environ.get("TTY_COMPATIBLE") == "1"
