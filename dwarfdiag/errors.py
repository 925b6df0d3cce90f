"""The error hierarchy every dwarfdiag module raises.

The CLI turns any :class:`DwarfdiagError` into one line on stderr and exit
code 2 (a traceback only with ``--debug``). Messages name the entity and the
offset that is wrong, and where there is an obvious fix, the fix. Each class
also subclasses the builtin that fits (drgn style), so callers that only know
Python's exceptions still catch them sensibly.
"""

from __future__ import annotations


class DwarfdiagError(Exception):
    """Base class: a problem the user can understand and act on."""


class BadInputError(DwarfdiagError, ValueError):
    """A file is not what it must be: truncated, corrupt, wrong format."""


class BtfFormatError(BadInputError):
    """Raw BTF that libbpf would reject. ``offset`` is a byte offset in the file."""

    def __init__(self, message: str, offset: int | None = None, source: str | None = None):
        self.problem, self.offset, self.source = message, offset, source
        where = f" at offset {offset:#x}" if offset is not None else ""
        prefix = f"{source}: " if source else ""
        super().__init__(f"{prefix}invalid BTF{where}: {message}")

    def in_file(self, source: str) -> "BtfFormatError":
        """The same error, naming the file it came from."""
        return BtfFormatError(self.problem, self.offset, source)


class NotFoundError(DwarfdiagError, KeyError):
    """A named thing (type, id, symbol, target) does not exist."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class UnsupportedError(DwarfdiagError, NotImplementedError):
    """Valid input that dwarfdiag cannot handle (architecture, feature)."""


class ToolchainError(DwarfdiagError, RuntimeError):
    """An external tool (go, gccgo, pahole, bpftool, libbpf) is missing or failed."""
