"""``bpftool btf dump file`` output, in its raw text and JSON forms.

The text is identical, line for line, to Debian 12's bpftool 7.1
(``dump_btf_type()`` in bpftool ``src/btf.c``), which the tests check against
the real binary; the JSON has the shape of ``bpftool -j``. bpftool quirks are
kept on purpose, for example the comma in ``type_id=N, linkage=...`` of VAR
and, in JSON, an unsigned ENUM value printed as a sign-extended 64-bit number
(bpftool passes the ``__s32`` field to ``jsonw_uint_field``).
"""

from __future__ import annotations

import json
from typing import Iterable, Iterator

from dwarfdiag.btf.model import Btf, BtfKind, BtfType
from dwarfdiag.errors import NotFoundError

_INT_ENCODINGS = {0: "(none)", 1: "SIGNED", 2: "CHAR", 4: "BOOL"}
_LINKAGES = {0: "static", 1: "global", 2: "extern"}
_U64 = 1 << 64


def bpftool_name(btf: Btf, off: int) -> str:
    """bpftool's btf_str(): "(anon)" for offset 0, "(invalid)" if unresolvable."""
    if off == 0:
        return "(anon)"
    return btf.str_at(off) if btf.has_str(off) else "(invalid)"


def _kind_name(t: BtfType) -> str:
    try:
        return t.kind.name
    except ValueError:
        return "UNKNOWN"


def _s32(v: int) -> int:
    return v - (1 << 32) if v & 0x80000000 else v


def _s64(v: int) -> int:
    return v - _U64 if v & (1 << 63) else v


def format_type(btf: Btf, type_id: int, t: BtfType) -> str:
    """One type as bpftool prints it (possibly several lines, no final newline)."""
    out = [f"[{type_id}] {_kind_name(t)} '{bpftool_name(btf, t.name_off)}'"]
    kind = t.kind
    if kind == BtfKind.INT:
        enc = _INT_ENCODINGS.get(t.int_encoding, "UNKN")
        out.append(f" size={t.size} bits_offset={t.int_offset} nr_bits={t.int_bits} encoding={enc}")
    elif kind in (BtfKind.PTR, BtfKind.CONST, BtfKind.VOLATILE, BtfKind.RESTRICT,
                  BtfKind.TYPEDEF, BtfKind.TYPE_TAG):
        out.append(f" type_id={t.type}")
    elif kind == BtfKind.ARRAY:
        a = t.array
        assert a is not None
        out.append(f" type_id={a.type} index_type_id={a.index_type} nr_elems={a.nelems}")
    elif kind in (BtfKind.STRUCT, BtfKind.UNION):
        out.append(f" size={t.size} vlen={t.vlen}")
        for m in t.members:
            out.append(f"\n\t'{bpftool_name(btf, m.name_off)}' type_id={m.type} "
                       f"bits_offset={m.bit_offset(t.kflag)}")
            if m.bitfield_size(t.kflag):
                out.append(f" bitfield_size={m.bitfield_size(t.kflag)}")
    elif kind == BtfKind.ENUM:
        out.append(f" encoding={'SIGNED' if t.kflag else 'UNSIGNED'} size={t.size} vlen={t.vlen}")
        for v in t.values:
            val = _s32(v.val) if t.kflag else v.val
            out.append(f"\n\t'{bpftool_name(btf, v.name_off)}' val={val}")
    elif kind == BtfKind.ENUM64:
        out.append(f" encoding={'SIGNED' if t.kflag else 'UNSIGNED'} size={t.size} vlen={t.vlen}")
        for v in t.values:
            val = f"{_s64(v.val)}LL" if t.kflag else f"{v.val}ULL"
            out.append(f"\n\t'{bpftool_name(btf, v.name_off)}' val={val}")
    elif kind == BtfKind.FWD:
        out.append(f" fwd_kind={'union' if t.kflag else 'struct'}")
    elif kind == BtfKind.FUNC:
        out.append(f" type_id={t.type} linkage={_LINKAGES.get(t.vlen, '(unknown)')}")
    elif kind == BtfKind.FUNC_PROTO:
        out.append(f" ret_type_id={t.type} vlen={t.vlen}")
        for p in t.params:
            out.append(f"\n\t'{bpftool_name(btf, p.name_off)}' type_id={p.type}")
    elif kind == BtfKind.VAR:
        out.append(f" type_id={t.type}, linkage={_LINKAGES.get(t.linkage, '(unknown)')}")
    elif kind == BtfKind.DATASEC:
        out.append(f" size={t.size} vlen={t.vlen}")
        for s in t.secinfos:
            out.append(f"\n\ttype_id={s.type} offset={s.offset} size={s.size}")
            if 0 < s.type < btf.type_cnt:
                vt = btf.type_by_id(s.type)
                out.append(f" ({_kind_name(vt)} '{bpftool_name(btf, vt.name_off)}')")
            elif s.type == 0:
                out.append(" (UNKNOWN '(anon)')")  # bpftool looks up void too
    elif kind == BtfKind.FLOAT:
        out.append(f" size={t.size}")
    elif kind == BtfKind.DECL_TAG:
        out.append(f" type_id={t.type} component_idx={t.component_idx}")
    return "".join(out)


def type_as_json(btf: Btf, type_id: int, t: BtfType) -> dict:
    """One type as a ``bpftool -j btf dump`` object (same keys, same order)."""
    d: dict = {"id": type_id, "kind": _kind_name(t), "name": bpftool_name(btf, t.name_off)}
    kind = t.kind
    if kind == BtfKind.INT:
        d.update(size=t.size, bits_offset=t.int_offset, nr_bits=t.int_bits,
                 encoding=_INT_ENCODINGS.get(t.int_encoding, "UNKN"))
    elif kind in (BtfKind.PTR, BtfKind.CONST, BtfKind.VOLATILE, BtfKind.RESTRICT,
                  BtfKind.TYPEDEF, BtfKind.TYPE_TAG):
        d["type_id"] = t.type
    elif kind == BtfKind.ARRAY:
        a = t.array
        assert a is not None
        d.update(type_id=a.type, index_type_id=a.index_type, nr_elems=a.nelems)
    elif kind in (BtfKind.STRUCT, BtfKind.UNION):
        members = []
        for m in t.members:
            md = {"name": bpftool_name(btf, m.name_off), "type_id": m.type,
                  "bits_offset": m.bit_offset(t.kflag)}
            if m.bitfield_size(t.kflag):
                md["bitfield_size"] = m.bitfield_size(t.kflag)
            members.append(md)
        d.update(size=t.size, vlen=t.vlen, members=members)
    elif kind == BtfKind.ENUM:
        # jsonw_uint_field(__s32 val) sign-extends to 64 bits; keep that
        values = [{"name": bpftool_name(btf, v.name_off),
                   "val": _s32(v.val) if t.kflag else _s32(v.val) % _U64} for v in t.values]
        d.update(encoding="SIGNED" if t.kflag else "UNSIGNED", size=t.size, vlen=t.vlen,
                 values=values)
    elif kind == BtfKind.ENUM64:
        values = [{"name": bpftool_name(btf, v.name_off),
                   "val": _s64(v.val) if t.kflag else v.val} for v in t.values]
        d.update(encoding="SIGNED" if t.kflag else "UNSIGNED", size=t.size, vlen=t.vlen,
                 values=values)
    elif kind == BtfKind.FWD:
        d["fwd_kind"] = "union" if t.kflag else "struct"
    elif kind == BtfKind.FUNC:
        d.update(type_id=t.type, linkage=_LINKAGES.get(t.vlen, "(unknown)"))
    elif kind == BtfKind.FUNC_PROTO:
        d.update(ret_type_id=t.type, vlen=t.vlen,
                 params=[{"name": bpftool_name(btf, p.name_off), "type_id": p.type}
                         for p in t.params])
    elif kind == BtfKind.VAR:
        d.update(type_id=t.type, linkage=_LINKAGES.get(t.linkage, "(unknown)"))
    elif kind == BtfKind.DATASEC:
        d.update(size=t.size, vlen=t.vlen,
                 vars=[{"type_id": s.type, "offset": s.offset, "size": s.size}
                       for s in t.secinfos])
    elif kind == BtfKind.FLOAT:
        d["size"] = t.size
    elif kind == BtfKind.DECL_TAG:
        d.update(type_id=t.type, component_idx=t.component_idx)
    return d


def select_ids(btf: Btf, type_id: int | None = None, root: str | None = None) -> list[int]:
    """Ids to dump: all own types, one id, or a named root and its closure."""
    if type_id is not None:
        if not 0 < type_id < btf.type_cnt:
            raise NotFoundError(f"type id {type_id} does not exist "
                                f"(valid ids: 1..{btf.type_cnt - 1})")
        return [type_id]
    if root is not None:
        roots = btf.find_by_name(root)
        if not roots:
            raise NotFoundError(f"no type named {root!r}; try 'dwarfdiag btf dump FILE "
                                f"| grep' to see the exact spelling")
        return sorted(reachable_ids(btf, roots))
    return list(range(btf.start_id, btf.type_cnt))


def reachable_ids(btf: Btf, roots: Iterable[int]) -> set[int]:
    """``roots`` and every non-void id they reference, transitively."""
    seen: set[int] = set()
    stack = [r for r in roots if r]
    while stack:
        tid = stack.pop()
        if tid in seen:
            continue
        seen.add(tid)
        stack.extend(r for r in btf.type_by_id(tid).referenced_ids() if r and r not in seen)
    return seen


def dump_text(btf: Btf, ids: Iterable[int]) -> Iterator[str]:
    """Lines of ``bpftool btf dump file`` output (streamed, each with its newline)."""
    for tid in ids:
        yield format_type(btf, tid, btf.type_by_id(tid)) + "\n"


def dump_json(btf: Btf, ids: Iterable[int]) -> Iterator[str]:
    """``bpftool -j btf dump file`` output, streamed in chunks."""
    yield '{"types":['
    for i, tid in enumerate(ids):
        obj = json.dumps(type_as_json(btf, tid, btf.type_by_id(tid)),
                         ensure_ascii=False, separators=(",", ":"))
        yield ("," if i else "") + obj
    yield "]}\n"
