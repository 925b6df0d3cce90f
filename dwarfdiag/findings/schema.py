"""Typed JSON for every result dwarfdiag saves: dataclasses in, checked dataclasses out.

Each saved document is a dataclass with a ``KIND`` class variable
(``findings``, ``matrix``, ``explain``, ``bisect``, ``diff``, ``check``).
:func:`to_data` writes it as plain JSON data with ``kind`` and ``schema``
first; :func:`from_data` reads such data back into the dataclass and checks
every field against its type annotation on the way, so a document of the
wrong shape fails with one line naming the file and the field
(``findings.json: matrix.cells[3].outcome: expected a string, got 1``)
instead of a ``KeyError`` deep inside the report.

The types understood are the ones the documents use: ``int``, ``float``,
``str``, ``bool``, ``None``, ``X | None``, ``list[X]``, ``tuple[X, ...]``,
``dict[str, X]``, ``dict[int, X]`` (JSON keys are strings; they are turned
back into ints), nested dataclasses, and ``Any`` for the few free-form bags
(a trace event), which must still be JSON.

The format is documented in ``docs/findings.md``; bump :data:`SCHEMA_VERSION`
whenever a field changes meaning or disappears.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import sys
import types
import typing
from pathlib import Path
from typing import Any, Callable, ClassVar

from dwarfdiag.errors import BadInputError

SCHEMA_VERSION = 2
MAX_DEPTH = 64  # no document nests deeper; a deeper one is hostile or broken
MAX_DOCUMENT_BYTES = 512 << 20
JSON_RECURSION_LIMIT = 1000


class SchemaError(BadInputError):
    """A saved document that does not have the shape its kind promises."""


class Document:
    """Mixin for top-level documents: ``KIND`` names them in the JSON."""

    KIND: ClassVar[str] = ""


_PLAIN = frozenset({str, int, bool, type(None)})  # written as they are
# dataclass -> (its KIND or "", the names to write: fields, then JSON_EXTRA); other
# types -> None. Looked up per class once: a diff's document has 100k dataclasses.
_SHAPES: dict[type, tuple[str, tuple[str, ...]] | None] = {}


def _shape(cls: type) -> tuple[str, tuple[str, ...]] | None:
    if cls not in _SHAPES:
        if dataclasses.is_dataclass(cls):
            # derived values worth having in the JSON (``ok``, ``errno_name``) come
            # last; read back they are ignored, since the properties compute them again
            names = tuple(f.name for f in dataclasses.fields(cls))
            _SHAPES[cls] = (getattr(cls, "KIND", ""),
                            names + tuple(getattr(cls, "JSON_EXTRA", ())))
        else:
            _SHAPES[cls] = None
    return _SHAPES[cls]


def to_data(obj: Any) -> Any:
    """Plain JSON data for a dataclass tree (``kind``/``schema`` first for documents)."""
    cls = type(obj)
    if cls in _PLAIN:
        return obj
    shape = _shape(cls)
    if shape is not None:
        kind, names = shape
        out: dict[str, Any] = {"kind": kind, "schema": SCHEMA_VERSION} if kind else {}
        for name in names:
            out[name] = to_data(getattr(obj, name))
        return out
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, dict):
        return {str(k): to_data(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_data(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None  # JSON has no NaN; a missing measurement reads as null
    return obj


def labelled(result: Any, kind: str | None) -> Any:
    """A command's result as a document: a findings document as it is (it names
    itself); anything else with ``kind`` and ``schema`` first, a list under ``items``."""
    shape = _shape(type(result))
    if shape is not None and shape[0]:
        return result
    if kind is None:
        raise TypeError(f"a {type(result).__name__} result needs a document kind")
    data = to_data(result)
    if isinstance(data, dict):
        return {"kind": kind, "schema": SCHEMA_VERSION,
                **{k: v for k, v in data.items() if k not in ("kind", "schema")}}
    return {"kind": kind, "schema": SCHEMA_VERSION, "items": data}


def to_json(obj: Any) -> str:
    """The one JSON spelling every command writes: two-space indent, a final newline;
    byte for byte what ``json.dumps(to_data(obj), indent=2, ensure_ascii=True)`` gives
    (the tests hold it to that), in half the time: json's indenting encoder is pure
    Python, a generator per level, and a diff's document is 10 MB."""
    return "".join(json_chunks(obj))


def json_chunks(obj: Any, sink: Callable[[str], object] | None = None) -> list[str]:
    """:func:`to_json` in pieces of a few thousand tokens each, handed to ``sink``
    (a file's ``write``) as they are made, or else returned: a big document (a
    diff of two big binaries) is then never whole in memory, as a string or as
    bytes."""
    chunks: list[str] = []
    give = sink or chunks.append
    pieces: list[str] = []

    def put(piece: str) -> None:
        # joined every few thousand pieces: a list of every small string of a big
        # document would take several times its size at once
        pieces.append(piece)
        if len(pieces) >= 4096:
            give("".join(pieces))
            pieces.clear()

    _write(to_data(obj), put, "\n")
    pieces.append("\n")
    give("".join(pieces))
    return chunks


def _write(value: Any, put, newline: str) -> None:
    # ASCII only: names from binaries cannot smuggle terminal controls through JSON
    kind = type(value)
    if kind is str:
        put(_quote(value))
    elif kind is dict:
        if not value:
            put("{}")
            return
        inner = newline + "  "
        between = "{" + inner
        for key, item in value.items():
            put(between)
            put(_quote(key))  # to_data made every key a string
            put(": ")
            _write(item, put, inner)
            between = "," + inner
        put(newline + "}")
    elif kind is list or kind is tuple:
        if not value:
            put("[]")
            return
        inner = newline + "  "
        between = "[" + inner
        for item in value:
            put(between)
            _write(item, put, inner)
            between = "," + inner
        put(newline + "]")
    elif value is None:
        put("null")
    elif kind is bool:
        put("true" if value else "false")
    elif kind is int:
        put(int.__repr__(value))
    elif kind is float and math.isfinite(value):
        put(float.__repr__(value))
    else:
        put(json.dumps(value))  # NaN and the like as json spells them; TypeError for others


_quote = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]


_HINTS: dict[type, dict[str, Any]] = {}  # dataclass -> resolved field annotations


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        shown = value if len(value) <= 30 else value[:27] + "..."
        return json.dumps(shown)
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _field(where: str) -> str:
    return where.lstrip(".") or "the document"


def _fail(where: str, wanted: str, value: Any) -> SchemaError:
    return SchemaError(f"{_field(where)}: expected {wanted}, got {_describe(value)}")


def from_data(tp: Any, data: Any, where: str = "", depth: int = 0) -> Any:
    """``data`` checked against ``tp`` and built into it; SchemaError names the field."""
    if depth > MAX_DEPTH:
        raise SchemaError(f"{_field(where)}: nested deeper than {MAX_DEPTH} levels")
    if tp is Any:
        _check_plain_json(data, where, depth)
        return data
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        if data is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return from_data(option, data, where, depth)
            except SchemaError as e:
                errors.append(e)
        raise errors[0] if len(errors) == 1 else _fail(where, _wanted(tp), data)
    if tp is type(None):
        if data is not None:
            raise _fail(where, "null", data)
        return None
    if tp is bool:
        if not isinstance(data, bool):
            raise _fail(where, "true or false", data)
        return data
    if tp is int:
        if not isinstance(data, int) or isinstance(data, bool):
            raise _fail(where, "an integer", data)
        return data
    if tp is float:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            raise _fail(where, "a number", data)
        return float(data)
    if tp is str:
        if not isinstance(data, str):
            raise _fail(where, "a string", data)
        return data
    if origin is list or origin is tuple:
        if not isinstance(data, list):
            raise _fail(where, "a list", data)
        args = typing.get_args(tp)
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if len(data) != len(args):
                raise _fail(where, f"a list of {len(args)}", data)
            return tuple(from_data(a, v, f"{where}[{i}]", depth + 1)
                         for i, (a, v) in enumerate(zip(args, data)))
        item = args[0] if args else Any
        items = [from_data(item, v, f"{where}[{i}]", depth + 1) for i, v in enumerate(data)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(data, dict):
            raise _fail(where, "an object", data)
        key_tp, value_tp = typing.get_args(tp) or (str, Any)
        out = {}
        for k, v in data.items():
            key: Any = k
            if key_tp is int:
                try:
                    key = int(k)
                except ValueError:
                    raise SchemaError(f"{_field(where)}: key {_describe(k)} is not an integer") from None
            out[key] = from_data(value_tp, v, f"{where}[{json.dumps(k)}]", depth + 1)
        return out
    if dataclasses.is_dataclass(tp):
        return _from_dataclass(tp, data, where, depth)
    raise TypeError(f"findings schema: unsupported annotation {tp!r} at {where}")


def _wanted(tp: Any) -> str:
    names = []
    for option in typing.get_args(tp):
        if option is type(None):
            names.append("null")
        elif dataclasses.is_dataclass(option):
            names.append("an object")
        else:
            names.append(getattr(option, "__name__", str(option)))
    return " or ".join(names)


def _from_dataclass(cls: type, data: Any, where: str, depth: int) -> Any:
    if not isinstance(data, dict):
        raise _fail(where, "an object", data)
    kwargs = {}
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise SchemaError(f"{_field(where)}: missing field {f.name!r}")
            continue
        kwargs[f.name] = from_data(hints[f.name], data[f.name], f"{where}.{f.name}", depth + 1)
    return cls(**kwargs)


def _check_plain_json(data: Any, where: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise SchemaError(f"{_field(where)}: nested deeper than {MAX_DEPTH} levels")
    if isinstance(data, dict):
        for k, v in data.items():
            _check_plain_json(v, f"{where}[{json.dumps(k)}]", depth + 1)
    elif isinstance(data, list):
        for i, v in enumerate(data):
            _check_plain_json(v, f"{where}[{i}]", depth + 1)
    elif not (data is None or isinstance(data, (str, int, float, bool))):
        raise _fail(where, "JSON data", data)


def parse_json(text: str | bytes, source: str) -> Any:
    """JSON text to data; BadInputError names ``source`` (nesting bombs included)."""
    if len(text) > MAX_DOCUMENT_BYTES:
        raise BadInputError(f"{source}: {len(text)} bytes is more than any dwarfdiag document "
                            f"({MAX_DOCUMENT_BYTES >> 20} MiB); is this the right file?")
    # json's C parser recurses on the C stack and obeys the recursion limit,
    # which the replay raises for Python code; parse under a small limit so a
    # deeply nested file is a RecursionError, not a crashed process
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(min(limit, JSON_RECURSION_LIMIT))
    try:
        return json.loads(text)
    except RecursionError:
        raise BadInputError(f"{source}: JSON nested too deeply to be a dwarfdiag "
                            f"document") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise BadInputError(f"{source}: not valid JSON ({e})") from None
    finally:
        sys.setrecursionlimit(limit)


def read_document(cls: type, data: Any, source: str) -> Any:
    """A top-level document of class ``cls`` from parsed JSON, checked."""
    if not isinstance(data, dict):
        raise SchemaError(f"{source}: expected a dwarfdiag {cls.KIND} document (a JSON "
                          f"object), got {_describe(data)}")
    version = data.get("schema")
    if data.get("kind") != cls.KIND:
        raise SchemaError(f"{source}: kind is {_describe(data.get('kind'))}, expected "
                          f"{json.dumps(cls.KIND)}")
    if version != SCHEMA_VERSION:
        raise SchemaError(f"{source}: schema version {_describe(version)}; this dwarfdiag "
                          f"reads version {SCHEMA_VERSION} (re-run the command that wrote it)")
    try:
        return _from_dataclass(cls, data, "", 0)
    except SchemaError as e:
        raise SchemaError(f"{source}: {e}") from None


def read_record(cls: type, path: Path) -> Any:
    """A dataclass saved as JSON by dwarfdiag itself (a cache index), or None when it is
    missing, unreadable or of another shape: the caller then makes it again."""
    try:
        return from_data(cls, parse_json(Path(path).read_bytes(), str(path)))
    except (OSError, BadInputError, TypeError):
        return None
