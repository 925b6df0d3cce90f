"""Go names as C identifiers: one documented, deterministic, collision-free mapping.

The kernel's BTF checks and C both want identifiers; Go's type names are
``text/template/parse.stateFn``, ``[]string``, ``map[string]int``,
``main.List[go.shape.int]``. The mapping, applied in this order:

1. ``.`` (package separator) becomes ``__``; ``/`` becomes ``_``;
2. ``[]`` becomes ``slice_``, ``*`` becomes ``ptr_``, ``map[`` becomes ``map_``,
   ``chan `` becomes ``chan_``;
3. every other character that is not an ASCII letter, digit or ``_`` becomes
   ``_``, and trailing ``_`` are dropped;
4. a result that is empty, starts with a digit, or is a C keyword or a C base
   type name gets the prefix ``go_`` (so Go's 8-byte ``int`` is ``go_int``);
5. a result longer than 128 characters (Go names anonymous structs by their
   whole literal, ``struct { runtime.cgocheck int32; ... }``; the kernel takes
   at most 511) keeps its first 119 and ends in ``_`` plus 8 hex digits of the
   SHA-1 of the Go name;
6. two different Go names that map to the same identifier in the same C
   namespace (struct/union/enum tags, or ordinary identifiers) are told apart
   in BTF id order: the first keeps it, the next gets ``_2``, then ``_3``.

So ``main.Account`` -> ``main__Account``, ``[]string`` -> ``slice_string``,
``map[string]int`` -> ``map_string_int``, ``text/template/parse.stateFn`` ->
``text_template_parse__stateFn``. The original Go name is kept beside the
BTF (the names map), and in headers as a ``/* go: ... */`` comment.
"""

from __future__ import annotations

import hashlib
import re

C_KEYWORDS = frozenset("""
auto break case char const continue default do double else enum extern float for goto if
inline int long register restrict return short signed sizeof static struct switch typedef
union unsigned void volatile while _Bool _Complex _Imaginary bool true false alignas alignof
static_assert thread_local typeof nullptr constexpr _Alignas _Alignof _Atomic _Generic
_Noreturn _Static_assert _Thread_local asm
""".split())
# C types a header can meet beside ours: never give a Go type one of these names
C_TYPE_NAMES = frozenset("""
int8_t int16_t int32_t int64_t uint8_t uint16_t uint32_t uint64_t intptr_t uintptr_t size_t
ssize_t u8 u16 u32 u64 s8 s16 s32 s64 __u8 __u16 __u32 __u64 __s8 __s16 __s32 __s64
""".split())

_REPLACEMENTS = (("[]", "slice_"), ("map[", "map_"), ("chan ", "chan_"), ("*", "ptr_"),
                 (".", "__"), ("/", "_"))
_OTHER = re.compile(r"[^A-Za-z0-9_]")


MAX_IDENTIFIER = 128


def c_identifier(go_name: str) -> str:
    """Steps 1 to 5 of the mapping (the module docstring): one name, on its own."""
    text = go_name
    for old, new in _REPLACEMENTS:
        text = text.replace(old, new)
    text = _OTHER.sub("_", text).rstrip("_")
    if not text or text[0].isdigit() or text in C_KEYWORDS or text in C_TYPE_NAMES:
        text = "go_" + text
    if len(text) > MAX_IDENTIFIER:
        digest = hashlib.sha1(go_name.encode()).hexdigest()[:8]
        text = f"{text[:MAX_IDENTIFIER - 9]}_{digest}"
    return text


class Namer:
    """Step 6: collision-free names in one C namespace, handed out in the order asked
    for. ``key`` tells apart two different things that share a Go name (two structs
    both called ``main.T``): each gets its own identifier."""

    def __init__(self, taken: set[str] = frozenset()):
        self._by_go: dict[object, str] = {}
        self._used: set[str] = set(taken)

    def name(self, go_name: str, key: object = None) -> str:
        key = go_name if key is None else key
        known = self._by_go.get(key)
        if known is not None:
            return known
        base = c_identifier(go_name)
        candidate, n = base, 1
        while candidate in self._used:
            n += 1
            candidate = f"{base}_{n}"
        self._used.add(candidate)
        self._by_go[key] = candidate
        return candidate


def unique_fields(names: list[str]) -> list[str]:
    """Member or parameter names as C identifiers, unique within one struct or prototype
    (Go allows many ``_`` fields; gc names results ``~r0``). Empty names stay empty."""
    out, used = [], set()
    for name in names:
        if not name:
            out.append("")
            continue
        base = c_identifier(name.lstrip("~"))
        candidate, n = base, 1
        while candidate in used:
            n += 1
            candidate = f"{base}_{n}"
        used.add(candidate)
        out.append(candidate)
    return out
