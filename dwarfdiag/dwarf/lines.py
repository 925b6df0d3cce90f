"""File names from ``.debug_line`` headers, so DW_AT_decl_file becomes a path.

Only the header of each line program is read (the file table), never the
line-number program itself.
"""

from __future__ import annotations

import struct

from dwarfdiag.dwarf.constants import Form
from dwarfdiag.dwarf.reader import Context, UnitHeader, read_form, uleb
from dwarfdiag.errors import BadInputError

DW_LNCT_path = 1
DW_LNCT_directory_index = 2
FORM_STRING, FORM_LINE_STRP, FORM_UDATA = int(Form.string), int(Form.line_strp), int(Form.udata)
unpack_from = struct.unpack_from


def file_table(debug_line: bytes, offset: int, ctx: Context) -> list[str]:
    """The file names of the line program at ``offset``, indexed as DW_AT_decl_file is.

    DWARF 5 indexes from 0; earlier versions from 1, so index 0 is "".
    """
    e = ctx.endian
    try:
        p = offset
        length, = struct.unpack_from(e + "I", debug_line, p)
        p += 4
        osize = 4
        if length == 0xFFFFFFFF:
            p += 8
            osize = 8
        version, = struct.unpack_from(e + "H", debug_line, p)
        p += 2
        address_size = 8
        if version >= 5:
            address_size = debug_line[p]
            p += 2  # address_size, segment_selector_size
        p += osize  # header_length
        p += 4 if version >= 4 else 3  # min_inst_length, [max_ops], default_is_stmt, line_base
        p += 1  # line_range
        opcode_base = debug_line[p]
        p += 1 + (opcode_base - 1)
        if version >= 5:
            unit = UnitHeader(offset, version, 0, address_size, osize, 0, 0, 0)
            dirs, p = _v5_entries(debug_line, p, ctx, unit)
            files, p = _v5_entries(debug_line, p, ctx, unit)
            out = []
            for entry in files:
                name = _text(entry.get(DW_LNCT_path))
                d = entry.get(DW_LNCT_directory_index, 0)
                base = _text(dirs[d].get(DW_LNCT_path)) \
                    if isinstance(d, int) and 0 <= d < len(dirs) else ""
                out.append(_join(base, name))
            return out
        dirs = [""]
        while debug_line[p] != 0:
            end = debug_line.index(0, p)
            dirs.append(debug_line[p:end].decode("utf-8", "replace"))
            p = end + 1
        p += 1
        out = [""]
        while debug_line[p] != 0:
            end = debug_line.index(0, p)
            name = debug_line[p:end].decode("utf-8", "replace")
            p = end + 1
            d, p = uleb(debug_line, p)
            _, p = uleb(debug_line, p)
            _, p = uleb(debug_line, p)
            out.append(_join(dirs[d] if d < len(dirs) else "", name))
        return out
    except (IndexError, ValueError, struct.error):
        raise BadInputError(f".debug_line: line program header at {offset:#x} is truncated "
                            f"or corrupt") from None


def _text(value: object) -> str:
    """A path entry as text; a hostile header may give a number or a block."""
    return value if isinstance(value, str) else ""


def _join(directory: str, name: str) -> str:
    if not directory or name.startswith("/"):
        return name
    return directory.rstrip("/") + "/" + name


def _v5_entries(d: bytes, p: int, ctx: Context, unit: UnitHeader) -> tuple[list[dict], int]:
    count = d[p]
    p += 1
    formats = []
    for _ in range(count):
        content, p = uleb(d, p)
        form, p = uleb(d, p)
        formats.append((content, form))
    n, p = uleb(d, p)
    entries = []
    for _ in range(n):
        entry: dict[int, object] = {}
        for content, form in formats:
            # the forms Go and GCC use, inline (a unit has hundreds of entries);
            # read_form for any other
            if form == FORM_STRING:
                end = d.index(0, p)
                value, p = d[p:end].decode("utf-8", "replace"), end + 1
            elif form == FORM_LINE_STRP and unit.offset_size == 4:
                value = ctx.line_strp(unpack_from(ctx.endian + "I", d, p)[0])
                p += 4
            elif form == FORM_UDATA and d[p] < 0x80:
                value, p = d[p], p + 1
            else:
                value, p = read_form(d, p, form, 0, ctx, unit)
            entry[content] = value
        entries.append(entry)
    return entries, p
