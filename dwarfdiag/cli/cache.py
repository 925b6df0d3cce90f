"""``dwarfdiag cache ...``: what the cache holds, and cleaning it."""

from __future__ import annotations

from typing import Annotated

import typer

from dwarfdiag.cli.apps import cache_app
from dwarfdiag.cli.options import JsonOpt
from dwarfdiag.cli.output import emit


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


@cache_app.command("info")
def cache_info(as_json: JsonOpt = False) -> None:
    """Where the cache is, and what each area of it holds."""
    from dwarfdiag import cache

    areas = cache.areas()
    doc = {"root": str(cache.cache_root()), "derived_limit": cache.MAX_DERIVED_BYTES,
           "areas": [{"name": a.name, "files": a.files, "bytes": a.bytes} for a in areas],
           "bytes": sum(a.bytes for a in areas)}

    def text():
        yield f"cache: {doc['root']} ({_size(doc['bytes'])})"
        for a in areas:
            yield f"  {a.name:<24} {a.files:>7} files  {_size(a.bytes):>10}"
        yield (f"derived data is evicted oldest first past {_size(cache.MAX_DERIVED_BYTES)} "
               f"(DWARFDIAG_CACHE_MAX)")

    emit(doc, as_json, text=text, kind="cache-info")


@cache_app.command("clean")
def cache_clean(
    everything: Annotated[bool, typer.Option(
        "--all", help="Also remove builds, downloaded Go versions and toolchains.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Remove derived data (TypeGraphs, encoded BTF, diff cycles); --all removes everything."""
    from dwarfdiag import cache

    removed, freed = cache.clean(everything)
    emit({"files": removed, "bytes": freed}, as_json,
         text=lambda: [f"removed {removed} files ({_size(freed)}) from {cache.cache_root()}"],
         kind="cache-clean")
