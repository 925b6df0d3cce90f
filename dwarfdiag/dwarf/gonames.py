"""Go type and function names as both compilers spell them, normalised.

gc writes ``main.T``, ``*main.T``, ``net/http.Request``. gccgo prefixes
package-qualified names with a dot (``.main.T``, ``.net/http.Request``) and
mangles some characters in symbol-derived names as ``..zXX`` (hex). The
normal form is gc's spelling; the raw name is always kept next to it.
"""

from __future__ import annotations

import re

_GCCGO_ESCAPE = re.compile(r"\.\.z([0-9a-f]{2})")


def normalise(raw: str | None, compiler: str = "gccgo") -> str | None:
    """gc's spelling of ``raw``; only gccgo names lose their leading dot
    (gc's own ``.param0`` typedefs of generic shapes keep theirs)."""
    if not raw:
        return raw
    name = raw
    if compiler == "gccgo" and name.startswith(".") and len(name) > 1 and name[1] != ".":
        name = name[1:]
    if "..z" in name:
        name = _GCCGO_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), name)
    return name


def package_of(name: str | None) -> str | None:
    """The package path of a normalised qualified name, or None for builtins.

    ``net/http.Request`` -> ``net/http``; ``*main.T`` -> ``main``;
    ``map[string]int`` -> None. Composite spellings are classified by their
    first qualified component, which is what a reader looks for.
    """
    if not name:
        return None
    body = name.lstrip("*[]0123456789")
    if body.startswith(("map[", "func(", "chan ", "<-chan", "struct {", "interface {")):
        return None
    slash = body.rfind("/", 0, _first_of(body, "[("))
    dot = body.find(".", slash + 1)
    if dot <= 0:
        return None
    pkg = body[:dot]
    return pkg if pkg and " " not in pkg else None


def _first_of(s: str, chars: str) -> int:
    positions = [i for i in (s.find(c) for c in chars) if i >= 0]
    return min(positions) if positions else len(s)
