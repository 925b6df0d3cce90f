"""The findings schema: every document round-trips, and any other shape is refused
with one line that names the file and the field."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dwarfdiag import findings
from dwarfdiag.errors import BadInputError
from dwarfdiag.findings.bisect import BisectReport, MinimalSet, Reproducer, SearchResult
from dwarfdiag.findings.common import Provenance, TypeRef
from dwarfdiag.findings.explain import Explanation, Failure, Prediction
from dwarfdiag.findings.investigation import (BisectEntry, BuildDiagnosis, CellDiagnosis,
                                              Findings)
from dwarfdiag.findings.matrix import Build, Cell, DwarfStats, MatrixRecord, ToolchainRecord
from dwarfdiag.findings.schema import SchemaError, to_data, to_json


def _failure() -> Failure:
    chain = [TypeRef(7, "FUNC_PROTO", ""), TypeRef(8, "TYPEDEF", "main.stateFn",
                                                   Provenance(die_offset=0x20, package="main")),
             TypeRef(7, "FUNC_PROTO", "")]
    return Failure(-40, "ref_types", 7, 7, chain, "reference cycle through func_proto, typedef")


def _explanation() -> Explanation:
    return Explanation("raw file", "1.5", 3, None, _failure(), [], {}, [],
                       [Prediction("1.7", "v1.7.0", "libbpf 1.7.0", True, "", None, "ok")], 0.01)


def _bisect() -> BisectReport:
    s = MinimalSet([8], [7, 8], ["main"], -40, True, [7, 8, 7], [7, 8])
    report = BisectReport("statefn", "/bin/statefn", "encoder",
                          SearchResult(3, -40, "replay", [s], 5, 1, 0.2))
    report.types = {7: TypeRef(7, "FUNC_PROTO", ""), 8: TypeRef(8, "TYPEDEF", "main.stateFn")}
    report.reproducers = [Reproducer("/r/repro-1", "package main", {"sid": "encodes"}, "built")]
    return report


def _investigation() -> Findings:
    build = Build("statefn", 9, "gc-1.27.3", "gc", "1.27.3", "debug", ("-gcflags=all=-N -l",),
                  "built", "/bin/statefn", dwarf=DwarfStats([5], True, 30, 1000))
    cell = Cell("statefn", 9, "gc-1.27.3", "debug", "trixie", "fails", "/bin/statefn")
    matrix = MatrixRecord(1.5, [ToolchainRecord("trixie", "1.30", "1.5.0")], [build], [cell])
    diag = BuildDiagnosis("statefn", "gc-1.27.3", "debug", "/bin/statefn", 3,
                          {"trixie": CellDiagnosis("fails", "1.5", "fails", True, _failure(),
                                                   trace=[{"ev": "failed"}])})
    return Findings("t", "0.1.0", matrix=matrix, diagnosis=[diag],
                    bisects=[BisectEntry("statefn", "gc", "trixie", _bisect())],
                    explanations=[_explanation()])


@pytest.mark.parametrize("doc", [_explanation(), _bisect(), _investigation()],
                         ids=["explain", "bisect", "findings"])
def test_documents_round_trip(doc, tmp_path):
    path = tmp_path / "doc.json"
    path.write_text(to_json(doc))
    back = findings.load(path)
    assert type(back) is type(doc)
    assert to_data(back) == to_data(doc)
    data = json.loads(path.read_text())
    assert data["kind"] == doc.KIND and data["schema"] == 2


def test_derived_values_are_in_the_json():
    data = to_data(_explanation())
    assert data["ok"] is False and data["first_failure"]["errno_name"] == "-ELOOP"
    assert to_data(_investigation().matrix)["counts"]["trixie"]["fails"] == 1


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.pop("kind"), 'not a dwarfdiag document'),
    (lambda d: d.update(schema=99), "schema version 99"),
    (lambda d: d["matrix"].update(cells=1), "matrix.cells: expected a list, got 1"),
    (lambda d: d["matrix"]["cells"][0].update(outcome=3),
     "matrix.cells[0].outcome: expected a string, got 3"),
    (lambda d: d["bisects"][0]["report"].pop("search"), "bisects[0].report: missing field 'search'"),
    (lambda d: d["diagnosis"][0]["cells"]["trixie"]["failure"]["chain"][1].update(id="8"),
     'diagnosis[0].cells["trixie"].failure.chain[1].id: expected an integer, got "8"'),
    (lambda d: d["bisects"][0]["report"].update(types={"x": None}), 'key "x" is not an integer'),
])
def test_wrong_shapes_name_the_file_and_the_field(mutate, message, tmp_path):
    data = to_data(_investigation())
    mutate(data)
    with pytest.raises(SchemaError, match="^doc.json: .*" + message.replace("[", r"\[")
                       .replace("]", r"\]").replace("(", r"\(").replace(")", r"\)")):
        findings.parse(data, "doc.json")


@pytest.mark.parametrize("text", ["1", "null", '{"matrix": 1}', "[]", '"findings"',
                                  "[" * 100_000 + "]" * 100_000, "{", b"\xff\xfe"])
def test_not_a_document_is_one_clear_error(text, tmp_path):
    path = tmp_path / "f.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(BadInputError, match=f"^{path}: "):
        findings.load(path)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30)


@given(json_values)
def test_arbitrary_json_is_a_document_or_our_error(value):
    """The hpack law for a decoder: any input decodes or raises our error."""
    try:
        findings.parse(value, "x.json")
    except SchemaError:
        pass


@given(st.sampled_from(["title", "matrix", "diagnosis", "bisects", "tools"]), json_values)
def test_any_value_in_any_field_decodes_or_names_the_field(field, value):
    data = to_data(_investigation())
    data[field] = value
    try:
        findings.parse(data, "x.json")
    except SchemaError as e:
        assert str(e).startswith(f"x.json: {field}")


_JSON_LEAVES = (st.none() | st.booleans() | st.integers(-2**70, 2**70)
                | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12))
_JSON_VALUES = st.recursive(
    _JSON_LEAVES,
    lambda inner: (st.lists(inner, max_size=4) | st.tuples(inner, inner)
                   | st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(_JSON_VALUES)
def test_to_json_spells_what_the_json_module_spells(value):
    """to_json writes its own indented JSON (the json module's indenting encoder is
    pure Python): the bytes must be json.dumps's, escapes, numbers and nesting alike."""
    assert to_json(value) == json.dumps(to_data(value), indent=2, ensure_ascii=True) + "\n"


@settings(max_examples=20, deadline=None)
@given(st.lists(_JSON_VALUES, min_size=1, max_size=5), st.integers(500, 3000))
def test_a_big_document_is_spelled_alike(values, times):
    """A document of many thousand pieces is joined a few thousand at a time."""
    document = {"items": values * times}
    assert to_json(document) == json.dumps(to_data(document), indent=2, ensure_ascii=True) + "\n"
