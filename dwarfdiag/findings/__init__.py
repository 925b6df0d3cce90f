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

from pathlib import Path
from typing import Any

from dwarfdiag.findings.bisect import BisectReport
from dwarfdiag.findings.check import CheckSummary
from dwarfdiag.findings.diff import DiffResult
from dwarfdiag.findings.explain import Explanation
from dwarfdiag.findings.investigation import Findings
from dwarfdiag.findings.matrix import MatrixRecord
from dwarfdiag.findings.schema import SchemaError, parse_json, read_document, to_json

DOCUMENTS: dict[str, type] = {cls.KIND: cls for cls in (
    Findings, MatrixRecord, Explanation, CheckSummary, DiffResult, BisectReport)}


def parse(data: Any, source: str) -> Any:
    """A document of any kind from parsed JSON, checked against its schema."""
    kind = data.get("kind") if isinstance(data, dict) else None
    cls = DOCUMENTS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        known = ", ".join(DOCUMENTS)
        raise SchemaError(f"{source}: not a dwarfdiag document (its \"kind\" must be one of "
                          f"{known}); write it with the command's --json")
    return read_document(cls, data, source)


def load(path: Path, data: bytes | None = None) -> Any:
    """Read and check the document at ``path`` (``data``: its bytes, already read)."""
    return parse(parse_json(data if data is not None else Path(path).read_bytes(), str(path)),
                 str(path))


__all__ = ["DOCUMENTS", "BisectReport", "CheckSummary", "DiffResult", "Explanation",
           "Findings", "MatrixRecord", "SchemaError", "load", "parse", "to_json"]
