"""What a long step is doing, on the terminal: a spinner, the stage in words, a bar.

Only on a terminal (stderr): pipes and CI logs stay clean. Names from
binaries reach the description, so they are escaped for rich markup and for
the terminal alike.
"""

from __future__ import annotations

import os
import sys
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


@contextmanager
def progress(text: str, transient: bool = True) -> Iterator[Reporter]:
    """A spinner with elapsed time and, when told, a bar; on stderr, and only when
    stderr is a terminal (pipes and CI logs stay clean)."""
    if not _may_be_terminal():  # rich (a hundredth of a second to import) not needed
        yield Reporter(None, None)
        return
    from rich.console import Console

    console = Console(stderr=True)
    if not console.is_terminal:
        yield Reporter(None, None)
        return
    from rich.markup import escape
    from rich.progress import (BarColumn, Progress, SpinnerColumn, TextColumn,
                               TimeElapsedColumn)

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  TimeElapsedColumn(), console=console, transient=transient) as bar:
        task = bar.add_task(escape(printable(text)), total=None)
        yield Reporter(bar, task)


def _may_be_terminal() -> bool:
    """Might rich take stderr for a terminal: it is one, or rich's environment
    variables say to act as if (then rich's Console decides)."""
    try:
        if sys.stderr.isatty():
            return True
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False
    return bool(os.environ.get("FORCE_COLOR")) or os.environ.get("TTY_COMPATIBLE") == "1"
