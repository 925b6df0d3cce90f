"""Which compiler made a compile unit, from its ``DW_AT_producer`` (the one place
that reads the producer string).

gc writes ``Go cmd/compile go1.27.3; regabi``, gccgo ``GNU Go 12.2.0 -mtune=...``,
gcc ``GNU C17 12.2.0 ...`` (``GNU C++17``, ``GNU AS 2.40``), clang ``Debian clang
version 14.0.6``, and rustc ``clang LLVM (rustc version 1.95.0 (...))``.
"""

from __future__ import annotations

import re

_RULES = (
    ("gc", re.compile(r"^Go cmd/compile (?:go)?(\d+\.\d+(?:\.\d+)?)")),
    ("gc", re.compile(r"^Go cmd/compile")),
    ("gccgo", re.compile(r"^GNU Go (\d+\.\d+(?:\.\d+)?)")),
    ("rustc", re.compile(r"rustc version (\d+\.\d+(?:\.\d+)?)")),
    ("gcc", re.compile(r"^GNU (?:C|C\+\+|Fortran|Objective-C|AS)\S* (\d+\.\d+(?:\.\d+)?)")),
    ("clang", re.compile(r"clang version (\d+\.\d+(?:\.\d+)?)")),
)
GO_FAMILIES = ("gc", "gccgo")


def compiler_of(producer: str | None) -> tuple[str, str]:
    """``(family, version)``: family one of gc, gccgo, rustc, gcc, clang or
    unknown; version "" when the producer does not say."""
    text = producer or ""
    for family, rule in _RULES:
        m = rule.search(text)
        if m:
            return family, (m.group(1) if m.groups() else "")
    return "unknown", ""


def main_compiler(producers: list[str]) -> tuple[str, str]:
    """The compiler of a program whose units name these producers: the first Go
    compiler among them (a Go program links C units of cgo and the runtime), else
    the first known one."""
    found = [compiler_of(p) for p in producers]
    for family, version in found:
        if family in GO_FAMILIES:
            return family, version
    return next(((f, v) for f, v in found if f != "unknown"), ("unknown", ""))
