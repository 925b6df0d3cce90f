"""The pipeline's floors (README, "Architecture"): no module imports one above it."""

from __future__ import annotations

import re
from pathlib import Path

import dwarfdiag

# Lowest first. A module may import its own floor and any floor below it.
FLOORS = [
    {"errors", "inputfile", "cache", "findings", "textsafe", "progress", "heap", "fork"},
    {"toolchains"},
    {"elf"},
    {"dwarf"},
    {"gometa"},
    {"target"},
    {"btf"},
    {"dedup"},
    {"analysis", "inspect"},
    {"usable"},
    {"diff", "probe"},
    {"corpus"},
    {"targets"},
    {"bisect"},
    {"parity"},
    {"diagnose", "report"},
    {"investigate"},
    {"cli"},
]
FLOOR = {name: n for n, names in enumerate(FLOORS) for name in names}
IMPORT = re.compile(r"^\s*(?:from dwarfdiag\.(\w+)|from dwarfdiag import (\w+)|"
                    r"import dwarfdiag\.(\w+))", re.M)


def test_no_module_imports_a_higher_floor():
    package = Path(dwarfdiag.__file__).parent
    upward = []
    for path in sorted(package.rglob("*.py")):
        top = path.relative_to(package).parts[0].removesuffix(".py")
        if top in ("__init__", "__main__"):
            continue
        assert top in FLOOR, f"{top} is on no floor; add it to FLOORS and the README"
        for match in IMPORT.finditer(path.read_text()):
            other = next(g for g in match.groups() if g)
            if other == "__version__":
                continue
            assert other in FLOOR, f"{path}: imports unknown dwarfdiag.{other}"
            if FLOOR[other] > FLOOR[top]:
                upward.append(f"{path.relative_to(package)} imports dwarfdiag.{other}")
    assert upward == []
