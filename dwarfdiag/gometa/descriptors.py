"""The runtime type descriptors of a Go binary (``internal/abi.Type`` and its kinds).

Every type the program boxes, allocates on the heap, reflects on or puts in an
interface has a descriptor: a 48-byte header (size, pointer bytes, hash, flags,
alignment, kind, equality function, GC data, name, pointer-to-this) followed
by its kind's part (a struct's fields, an array's element and length, a
function's parameter and result types, an interface's methods, a map's key
and element ...), then, when ``TFlagUncommon`` is set, the uncommon part: the
defining package's path and the method table, each method's name, its
signature's descriptor (``mtyp``) and code (``ifn``, ``tfn``). Offsets
(``NameOff``, ``TypeOff``) count from the moduledata's ``types``, code offsets
(``TextOff``) from its ``text``; the linker writes -1 for a method signature
or code it dropped (``cmd/link/internal/ld/deadcode.go``).

:class:`Descriptors` finds them from the roots the runtime keeps (up to 1.26
``typelinks`` and ``itablinks``; in 1.27 the descriptors laid out first in
``.go.type`` and the itabs after them) and closes over every reference
(fields, elements, keys, parameters, method signatures, map internals,
pointer-to-this), plus those only code refers to: the targets of RIP-relative
``LEA`` instructions in ``.text`` that decode as descriptors. Each is checked
as it is read (a kind, a power-of-two alignment, a name inside the types
region, references into it), so a corrupt or foreign region is an error,
never a layout.
"""

from __future__ import annotations

import re
import struct
from collections import deque
from dataclasses import dataclass, field

from dwarfdiag.errors import BadInputError
from dwarfdiag.gometa.image import Image
from dwarfdiag.gometa.layouts import (ARRAY, CHAN, FUNC, HEADER, IMETHOD, INTERFACE, ITAB_TYPE,
                                      KIND_MASK, KIND_NAMES, MAP, METHOD, NAME_EMBEDDED,
                                      NAME_HAS_PKGPATH, NAME_HAS_TAG, POINTER, SLICE, STRUCT,
                                      STRUCT_FIELD, TFLAG_EXTRA_STAR, TFLAG_NAMED,
                                      TFLAG_UNCOMMON, UNCOMMON, UNSAFE_POINTER, Layout,
                                      kind_part)
from dwarfdiag.gometa.pclntab import ModuleData

MAX_FIELDS = 1 << 16  # a struct, function or interface with more is corrupt
MAX_DESCRIPTORS = 2_000_000


def link_prefix(path: str) -> str:
    """A package path as symbol names spell it (``objabi.PathToPrefix``): control
    characters, spaces, ``%``, ``"`` and the dots of its last element as ``%xx``
    (``gopkg.in/yaml.v3`` -> ``gopkg.in/yaml%2ev3``)."""
    slash = path.rfind("/")
    out = []
    for i, ch in enumerate(path):
        c = ord(ch)
        if c <= 0x20 or (ch == "." and i > slash) or ch in '%"' or c >= 0x7F:
            out.append("".join(f"%{b:02x}" for b in ch.encode()))
        else:
            out.append(ch)
    return "".join(out)


@dataclass(frozen=True)
class Name:
    """An encoded ``abi.Name``: flags, then the name, its tag and package path."""

    text: str
    tag: str = ""
    embedded: bool = False
    exported: bool = False
    pkgpath: str = ""  # an unexported name's package, where the name records it


@dataclass(frozen=True)
class Field:
    name: str
    type: int  # the field type's descriptor address
    offset: int
    embedded: bool
    tag: str = ""
    exported: bool = True
    pkgpath: str = ""  # an unexported field's package, where its name records one


@dataclass(frozen=True)
class Method:
    name: str
    mtyp: int  # the descriptor of its signature (without receiver), or 0 if dropped
    ifn: int  # code for calls through an interface, or 0
    tfn: int  # code for direct calls, or 0
    exported: bool = False


@dataclass
class Descriptor:
    address: int
    size: int
    ptrdata: int
    kind: int
    tflag: int
    align: int
    string: str  # the runtime's name of the type (reflect's String()): package names
    ptr_to_this: int  # the descriptor of *T, or 0
    pkgpath: str = ""  # the defining package's path (named types with an uncommon part)
    elem: int = 0  # pointer, slice, array, chan, map
    key: int = 0  # map
    group: int = 0  # map: its bucket (up to 1.23) or group type
    length: int = 0  # array
    chan_dir: int = 0
    fields: list[Field] = field(default_factory=list)
    params: list[int] = field(default_factory=list)
    results: list[int] = field(default_factory=list)
    variadic: bool = False
    imethods: list[tuple[str, int]] = field(default_factory=list)  # (name, func type)
    # a struct's or interface's package (which qualifies its unexported names)
    kind_pkgpath: str = ""
    methods: list[Method] = field(default_factory=list)
    found_by: str = ""  # "typelinks", "itab", "reference", "code"

    @property
    def named(self) -> bool:
        return bool(self.tflag & TFLAG_NAMED)

    @property
    def kind_name(self) -> str:
        return KIND_NAMES.get(self.kind, f"kind {self.kind}")

    def references(self) -> list[int]:
        """Every descriptor this one names."""
        out = [self.elem, self.key, self.group, self.ptr_to_this, *self.params,
               *self.results, *(f.type for f in self.fields), *(t for _, t in self.imethods),
               *(m.mtyp for m in self.methods)]
        return [a for a in out if a]


class Descriptors:
    """The descriptors of one binary, read when first asked for."""

    def __init__(self, image: Image, layout: Layout, md: ModuleData):
        self.image, self.layout, self.md = image, layout, md
        self.by_address: dict[int, Descriptor] = {}
        self._probed: dict[int, Descriptor] = {}  # read to see if code refers to one
        self._names: dict[int, Name] = {}

    # --- encoded names and offsets -----------------------------------------------------
    def name_at(self, addr: int) -> Name:
        known = self._names.get(addr)
        if known is not None:
            return known
        img = self.image
        flags = img.u8(addr)
        length, at = self._varint(addr + 1)
        text = img.read(at, length).decode("utf-8", "replace")
        at += length
        tag = pkgpath = ""
        if flags & NAME_HAS_TAG:
            tag_len, at = self._varint(at)
            tag = img.read(at, tag_len).decode("utf-8", "replace")
            at += tag_len
        if flags & NAME_HAS_PKGPATH:
            (pkg_off,) = img.unpack("i", at)
            pkgpath = self.name_off(pkg_off).text if pkg_off else ""
        name = Name(text, tag, bool(flags & NAME_EMBEDDED), bool(flags & 1), pkgpath)
        self._names[addr] = name
        return name

    def _varint(self, addr: int) -> tuple[int, int]:
        value = shift = 0
        for i in range(4):
            byte = self.image.u8(addr + i)
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value, addr + i + 1
            shift += 7
        raise BadInputError(f"{self.image.path}: a type name's length at {addr:#x} is corrupt")

    def name_off(self, off: int) -> Name:
        return self.name_at(self._in_types(self.md.types + off, "name"))

    def type_off(self, off: int) -> int:
        """The descriptor a TypeOff names; 0 for none (-1: the linker dropped it)."""
        if off in (0, -1):
            return 0
        return self._in_types(self.md.types + off, "type")

    def text_off(self, off: int) -> int:
        return 0 if off in (-1,) or off < 0 else self.md.text + off

    def _in_types(self, addr: int, what: str) -> int:
        if not self.md.types <= addr < self.md.etypes:
            raise BadInputError(f"{self.image.path}: a {what} offset leads to {addr:#x}, "
                                f"outside the type descriptors ({self.md.types:#x}.."
                                f"{self.md.etypes:#x}); the runtime metadata is corrupt")
        return addr

    def is_descriptor_address(self, addr: int) -> bool:
        return self.md.types <= addr < self.md.etypes

    # --- one descriptor ----------------------------------------------------------------
    def at(self, addr: int, found_by: str = "reference") -> Descriptor:
        known = self.by_address.get(addr)
        if known is not None:
            return known
        d = self._probed.pop(addr, None) or self._read(addr, found_by)
        self.by_address[addr] = d
        if len(self.by_address) > MAX_DESCRIPTORS:
            raise BadInputError(f"{self.image.path}: more than {MAX_DESCRIPTORS} type "
                                f"descriptors; the runtime metadata is corrupt")
        return d

    def _read(self, addr: int, found_by: str) -> Descriptor:
        img, where = self.image, self.image.path
        self._in_types(addr, "descriptor")
        size, ptrdata, _hash, tflag, align, _falign, kind_byte = img.unpack("QQIBBBB", addr)
        str_off, ptr_to_this_off = img.unpack("ii", addr + 40)
        kind = kind_byte & KIND_MASK
        if not 1 <= kind <= UNSAFE_POINTER or align == 0 or align & (align - 1) or align > 4096:
            raise BadInputError(f"{where}: the type descriptor at {addr:#x} is corrupt (kind "
                                f"{kind}, alignment {align})")
        string = self.name_off(str_off).text
        if tflag & TFLAG_EXTRA_STAR and string.startswith("*"):
            string = string[1:]
        d = Descriptor(addr, size, ptrdata, kind, tflag, align, string,
                       self.type_off(ptr_to_this_off), found_by=found_by)
        body = addr + HEADER
        if kind in (POINTER, SLICE):
            d.elem = img.pointer(body)
        elif kind == ARRAY:
            d.elem = img.pointer(body)
            d.length = img.word(body + 16)
        elif kind == CHAN:
            d.elem, d.chan_dir = img.pointer(body), img.word(body + 8)
        elif kind == MAP:
            d.key, d.elem, d.group = img.pointer(body), img.pointer(body + 8), img.pointer(body + 16)
        elif kind == STRUCT:
            d.kind_pkgpath = self._pkgpath(img.pointer(body))
            fields_at, count = img.slice(body + 8)
            self._count(count, addr)
            for i in range(count):
                name_ptr, ftype, offset = (img.pointer(fields_at + i * STRUCT_FIELD),
                                           img.pointer(fields_at + i * STRUCT_FIELD + 8),
                                           img.word(fields_at + i * STRUCT_FIELD + 16))
                name = self.name_at(name_ptr)
                d.fields.append(Field(name.text, ftype, offset, name.embedded, name.tag,
                                      name.exported, name.pkgpath))
        elif kind == INTERFACE:
            d.kind_pkgpath = self._pkgpath(img.pointer(body))
            methods_at, count = img.slice(body + 8)
            self._count(count, addr)
            for i in range(count):
                name_off, typ_off = img.unpack("ii", methods_at + i * IMETHOD)
                name = self.name_off(name_off)
                # an unexported method is qualified by its package, as the linker names it
                pkg = name.pkgpath or d.kind_pkgpath
                shown = name.text if name.exported or not pkg else \
                    f"{link_prefix(pkg)}.{name.text}"
                d.imethods.append((shown, self.type_off(typ_off)))
        uncommon = addr + kind_part(kind, self.layout)
        if kind == FUNC:
            ins, outs = img.unpack("HH", body)
            d.variadic = bool(outs & 0x8000)
            outs &= 0x7FFF
            self._count(ins + outs, addr)
            params_at = uncommon + (UNCOMMON if tflag & TFLAG_UNCOMMON else 0)
            types = [img.pointer(params_at + 8 * i) for i in range(ins + outs)]
            d.params, d.results = types[:ins], types[ins:]
        if tflag & TFLAG_UNCOMMON:
            pkg_off, mcount, _xcount, moff = img.unpack("iHHI", uncommon)
            d.pkgpath = self.name_off(pkg_off).text if pkg_off else ""
            self._count(mcount, addr)
            for i in range(mcount):
                name_off, mtyp, ifn, tfn = img.unpack("iiii", uncommon + moff + i * METHOD)
                name = self.name_off(name_off)
                d.methods.append(Method(name.text, self.type_off(mtyp), self.text_off(ifn),
                                        self.text_off(tfn), name.exported))
        for ref in (d.elem, d.key, d.group, *d.params, *d.results, *(f.type for f in d.fields)):
            if ref and not self.is_descriptor_address(ref):
                raise BadInputError(f"{where}: the {d.kind_name} descriptor at {addr:#x} refers "
                                    f"to {ref:#x}, outside the type descriptors")
        return d

    def _pkgpath(self, name_ptr: int) -> str:
        return self.name_at(name_ptr).text if name_ptr else ""

    def _count(self, count: int, addr: int) -> None:
        if count > MAX_FIELDS:
            raise BadInputError(f"{self.image.path}: the type descriptor at {addr:#x} claims "
                                f"{count} fields or methods; it is corrupt")

    # --- all of them ---------------------------------------------------------------------
    def roots(self) -> list[tuple[int, str]]:
        """(address, how found) of every descriptor the runtime lists."""
        img, md = self.image, self.md
        out: list[tuple[int, str]] = []
        if self.layout.listed_in_typedesc:
            # 1.27: the listed descriptors one after another, from types plus a pointer
            at, end = md.types + 8, md.types + md.typedesclen
            while at < end:
                at = (at + 7) & ~7
                out.append((at, "typelinks"))
                at += self._descriptor_size(at)
            at, end = md.types + md.itaboffset, md.types + md.itaboffset + md.itabsize
            while at < end:
                inter, typ = img.pointer(at), img.pointer(at + ITAB_TYPE)
                out += [(inter, "itab"), (typ, "itab")]
                nmethods = len(self.at(inter, "itab").imethods)
                fun0 = img.word(at + 24)
                at += 32 + (max(nmethods, 1) - 1) * 8 if fun0 else 32
        else:
            links_at, count = md.typelinks
            data = img.read(links_at, 4 * count) if count else b""
            out += [(md.types + off, "typelinks")
                    for (off,) in struct.iter_unpack(img.endian + "i", data)]
            itabs_at, count = md.itablinks
            for i in range(count):
                itab = img.pointer(itabs_at + 8 * i)
                out += [(img.pointer(itab), "itab"), (img.pointer(itab + ITAB_TYPE), "itab")]
        return out

    def _descriptor_size(self, addr: int) -> int:
        """``abi.Type.DescriptorSize``: the bytes of the descriptor at ``addr``."""
        d = self.at(addr, "typelinks")
        size = kind_part(d.kind, self.layout)
        if d.tflag & TFLAG_UNCOMMON:
            size += UNCOMMON
        size += {FUNC: 8 * (len(d.params) + len(d.results)),
                 INTERFACE: IMETHOD * len(d.imethods),
                 STRUCT: STRUCT_FIELD * len(d.fields)}.get(d.kind, 0)
        return size + METHOD * len(d.methods)

    def read_all(self, code: bool = True) -> dict[int, Descriptor]:
        """Every descriptor reachable from the roots, and (``code``) from ``.text``."""
        from dwarfdiag.fork import OnSecondCore

        # the scan of the code and data for addresses in the types region needs no
        # descriptor: the second core does it while this one reads the roots
        with OnSecondCore(self.code_candidates if code else list) as scan:
            queue = deque(self.roots())
            queue.extend((addr, "code") for addr in scan.result()
                         if addr not in self.by_address and self._plausible(addr))
        walked: set[int] = set()  # (reading the roots read some already)
        while queue:
            addr, how = queue.popleft()
            if addr in walked or not addr:
                continue
            walked.add(addr)
            d = self.at(addr, how)
            queue.extend((ref, "reference") for ref in d.references() if ref not in walked)
        return self.by_address

    def code_candidates(self) -> list[int]:
        """Addresses in the types region that code and data hold: targets of ``LEA
        reg, [rip+disp32]`` in ``.text`` (amd64), and words of the data sections (the
        caches of type assertions and switches hold interface types; a PIE's words are
        its relative relocations), aligned as a descriptor is."""
        md = self.md
        candidates: set[int] = set()
        text = self.image.section(".text")
        if text is not None and self.image.elf.machine == 62:
            data = self.image.elf.raw(text)
            # REX.W (48 or 4c) 8d, ModRM with mod 00 and r/m 101: rip + disp32, 7 bytes
            disp32 = struct.Struct("<i").unpack_from
            base = text.addr + 7
            candidates.update(base + at + disp32(data, at + 3)[0]
                              for at in (m.start() for m in _LEA_RIP.finditer(data))
                              if at + 7 <= len(data))
        for name in (".data", ".noptrdata", ".data.rel.ro"):
            section = self.image.section(name)
            if section is None:
                continue
            data = self.image.elf.raw(section)
            usable = len(data) - len(data) % 8
            candidates.update(w for (w,) in struct.iter_unpack(self.image.endian + "Q",
                                                               memoryview(data)[:usable])
                              if md.types < w < md.etypes)
        candidates.update(a for a in self.image.relocations().values()
                          if md.types < a < md.etypes)
        return sorted(t for t in candidates if t % 8 == 0)

    def _plausible(self, addr: int) -> bool:
        """Does ``addr`` read as a descriptor? (An LEA of the types region may point at
        a name or into another descriptor.)"""
        if not self._plausible_header(addr):  # most are not: names, parts of others
            return False
        try:
            d = self._read(addr, "code")
        except (BadInputError, UnicodeDecodeError):
            return False
        if d.size > (1 << 40) or d.ptrdata > d.size or not d.string:
            return False
        if all(self._plausible_header(ref) for ref in d.references()):
            self._probed[addr] = d  # read_all takes it from here
            return True
        return False

    def _plausible_header(self, addr: int) -> bool:
        if addr in self.by_address:
            return True
        try:
            _, _, _, _, align, _, kind_byte = self.image.unpack("QQIBBBB", addr)
        except BadInputError:
            return False
        kind = kind_byte & KIND_MASK
        return 1 <= kind <= UNSAFE_POINTER and align and not align & (align - 1)


_LEA_RIP = re.compile(rb"[\x48\x4c]\x8d[\x05\x0d\x15\x1d\x25\x2d\x35\x3d]", re.S)

