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
            # each directory as the prefix _join puts before a relative name, made once
            prefixes = [_join(_text(path), "") for path, _ in dirs]
            out = []
            for path, d in files:
                name = _text(path)
                prefix = prefixes[d] if isinstance(d, int) and 0 <= d < len(prefixes) else ""
                out.append(prefix + name if prefix and not name.startswith("/") else name)
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


def _v5_entries(d: bytes, p: int, ctx: Context, unit: UnitHeader
                ) -> tuple[list[tuple[object, object]], int]:
    """A DWARF 5 directory or file table: each entry's (path, directory index) as the
    forms give them (a hostile header may give a number for a path), 0 for no index."""
    count = d[p]
    p += 1
    formats = []
    for _ in range(count):
        content, p = uleb(d, p)
        form, p = uleb(d, p)
        formats.append((content, form))
    n, p = uleb(d, p)
    if formats in _INLINE_FORMATS:  # gc's (every unit but cgo's): no dict, no dispatch
        return _inline_entries(d, p, n, len(formats) == 2)
    entries = []
    for _ in range(n):
        path: object = None
        directory: object = 0
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
            if content == DW_LNCT_path:
                path = value
            elif content == DW_LNCT_directory_index:
                directory = value
        entries.append((path, directory))
    return entries, p


# gc's tables: directories by inline path, files by inline path and index
_INLINE_FORMATS = ([(DW_LNCT_path, FORM_STRING)],
                   [(DW_LNCT_path, FORM_STRING), (DW_LNCT_directory_index, FORM_UDATA)])


def _inline_entries(d: bytes, p: int, n: int, with_directory: bool
                    ) -> tuple[list[tuple[object, object]], int]:
    """:func:`_v5_entries` for a table of inline paths (and ULEB128 indexes)."""
    entries = []
    put, find = entries.append, d.index
    directory = 0
    for _ in range(n):
        end = find(0, p)
        path = d[p:end].decode("utf-8", "replace")
        p = end + 1
        if with_directory:
            directory = d[p]
            if directory < 0x80:
                p += 1
            else:
                directory, p = uleb(d, p)
        put((path, directory))
    return entries, p
