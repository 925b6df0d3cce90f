"""The typed results every stage writes and the report reads.

One dataclass per saved document, each with a ``KIND`` and the schema
version (:mod:`dwarfdiag.findings.schema`): ``findings`` (an
investigation), ``matrix``, ``explain``, ``check``, ``diff`` and
``bisect``. Stages build these records; ``dwarfdiag report`` reads them back
with :func:`load`, which checks every field and names the file and the
field that is wrong. This package is the ground floor: it imports nothing
of dwarfdiag but ``errors``. The JSON format is described in
``docs/findings.md``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

# Each name is imported from its module when first asked for: a command that writes
# one kind of document does not import the six (a tenth of check's start-up).
_HOME = {"BisectReport": "bisect", "CheckSummary": "check", "DiffResult": "diff",
         "Explanation": "explain", "Findings": "investigation", "MatrixRecord": "matrix",
         "SchemaError": "schema", "parse_json": "schema", "read_document": "schema",
         "to_json": "schema"}


def _documents() -> dict[str, type]:
    """Every document class by its ``KIND``."""
    return {cls.KIND: cls for cls in map(__getattr__, (
        "Findings", "MatrixRecord", "Explanation", "CheckSummary", "DiffResult",
        "BisectReport"))}


def __getattr__(name: str) -> Any:
    if name == "DOCUMENTS":
        value: Any = _documents()
    elif name in _HOME:
        value = getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def parse(data: Any, source: str) -> Any:
    """A document of any kind from parsed JSON, checked against its schema."""
    from dwarfdiag.findings.schema import SchemaError, read_document

    documents = _documents()
    kind = data.get("kind") if isinstance(data, dict) else None
    cls = documents.get(kind) if isinstance(kind, str) else None
    if cls is None:
        known = ", ".join(documents)
        raise SchemaError(f"{source}: not a dwarfdiag document (its \"kind\" must be one of "
                          f"{known}); write it with the command's --json")
    return read_document(cls, data, source)


def load(path: Path, data: bytes | None = None) -> Any:
    """Read and check the document at ``path`` (``data``: its bytes, already read)."""
    from dwarfdiag.findings.schema import parse_json

    return parse(parse_json(data if data is not None else Path(path).read_bytes(), str(path)),
                 str(path))


__all__ = ["DOCUMENTS", "BisectReport", "CheckSummary", "DiffResult", "Explanation",
           "Findings", "MatrixRecord", "SchemaError", "load", "parse", "to_json"]
