"""A binary's encoding, from the cache or from the encoder: for ``btf encode`` and for
every command that analyses the BTF (explain, check, final, bisect).

One cache entry per binary content and option (``encoded``: raw BTF, warnings,
the number of types, the functions left out) and, apart, every type's DIE
provenance (``provenance``). The entries are written by whichever command
encodes first and read by all the others, so the second command on a binary
touches neither the DWARF nor the encoder.

Kept apart from :mod:`dwarfdiag.btf.encoder` so that a warm ``btf encode``
imports only the cache: it reads one verified entry and nothing else.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import marshal
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from dwarfdiag.cache import (derived_key, framed, load_derived, reserve, store_derived,
                             store_derived_pieces, unframed_lazily)
from dwarfdiag.fork import in_background

if TYPE_CHECKING:
    from dwarfdiag.btf.encoder import Encoded
    from dwarfdiag.dwarf.typegraph import TypeGraph


@dataclass
class EncodedFile:
    """What ``btf encode`` writes: raw BTF, warnings, and (on demand) provenance."""

    raw: bytes
    warnings: dict[str, int]
    types: int
    cached: bool = False
    # provenance is worked out (or read from the cache) the first time it is asked for
    load_provenance: Callable[[], dict[int, dict]] | None = field(default=None, repr=False)
    _provenance: dict[int, dict] | None = field(default=None, repr=False)

    @property
    def provenance(self) -> dict[int, dict]:
        if self._provenance is None:
            self._provenance = self.load_provenance() if self.load_provenance else {}
        return self._provenance

    def provenance_json(self, source: str) -> str:
        """Every BTF id's DIE provenance, as ``btf encode --provenance`` writes it."""
        from dwarfdiag.findings.schema import to_json  # the one JSON spelling

        return to_json({"source": source, "types": self.types,
                        "provenance": {str(k): v for k, v in sorted(self.provenance.items())}})


# --- the two cache entries --------------------------------------------------------
def _key(path: Path, funcs: bool, types_from: str = "dwarf") -> str:
    parts = ("encoded", "funcs" if funcs else "nofuncs")
    # the runtime descriptors' encoding of a binary with DWARF is another entry
    return derived_key(Path(path), *parts, *(() if types_from == "dwarf" else (types_from,)))


def _store(key: str, enc: "Encoded", raw: bytes) -> None:
    store_derived("encoded", key, marshal.dumps(
        (raw, enc.warnings, len(enc.btf.types), enc.skipped, enc.units)))


def _load(key: str) -> tuple[bytes, dict, int, dict, list] | None:
    """(raw, warnings, types, skipped, units) of a verified entry of the right shape."""
    payload = load_derived("encoded", key)
    try:
        raw, warnings, types, skipped, units = \
            marshal.loads(payload) if payload else (None,) * 5
    except (ValueError, EOFError, TypeError):
        return None
    if (isinstance(raw, bytes) and isinstance(warnings, dict) and isinstance(types, int)
            and isinstance(skipped, dict) and isinstance(units, list)):
        return raw, warnings, types, skipped, units
    return None


PROVENANCE_RUN = 32768  # types per marshal piece of the provenance entry


def _store_provenance(key: str, provenance: Mapping[int, dict]) -> None:
    """Every type's provenance, in pieces of :data:`PROVENANCE_RUN` types (ids
    ascending), after an index: each piece's first id, and every type's DIE offset.
    Worked out a piece at a time from the encoder's lazy mapping, so the whole is
    never in memory at once; read back a piece at a time as well
    (:class:`CachedProvenance`)."""
    from dwarfdiag.btf.encoder import TypeProvenance

    ids = sorted(provenance)
    if isinstance(provenance, TypeProvenance):
        runs = provenance.runs(PROVENANCE_RUN)
        offsets = {i: provenance.die_offset(i) for i in ids}
    else:
        runs = ({i: provenance[i] for i in ids[start:start + PROVENANCE_RUN]}
                for start in range(0, len(ids), PROVENANCE_RUN))
        offsets = {i: provenance[i].get("die_offset") for i in ids}
    index = {"firsts": ids[::PROVENANCE_RUN], "die_offsets": offsets}
    store_derived_pieces("provenance", key, framed(itertools.chain([index], runs)))


def _load_provenance(key: str) -> "CachedProvenance | None":
    payload = load_derived("provenance", key)
    if payload is None:
        return None
    try:
        return CachedProvenance(payload)
    except (ValueError, EOFError, TypeError, KeyError):
        return None  # a verified entry of another shape: a miss


class CachedProvenance(Mapping):
    """Every type's provenance from the cache, each piece unpacked when one of its
    types is first asked for: a check asks for a few (its examples) and the DIE
    offsets (kept apart, :meth:`die_offset`), not for a dict per type."""

    def __init__(self, payload: bytes):
        frames = iter(unframed_lazily(payload))
        index = next(frames)()
        self._firsts: list[int] = list(index["firsts"])
        self._offsets: dict[int, int | None] = index["die_offsets"]
        self._pieces = list(frames)  # each unpacks its run when called
        if len(self._pieces) != len(self._firsts):
            raise ValueError("the provenance entry's index and pieces disagree")
        self._runs: list[dict[int, dict] | None] = [None] * len(self._pieces)

    def die_offset(self, type_id: int) -> int | None:
        return self._offsets.get(type_id)

    def _run(self, k: int) -> dict[int, dict]:
        run = self._runs[k]
        if run is None:
            run = self._runs[k] = self._pieces[k]()
        return run

    def __getitem__(self, type_id: int) -> dict:
        if type_id not in self._offsets:
            raise KeyError(type_id)
        return self._run(bisect.bisect_right(self._firsts, type_id) - 1)[type_id]

    def __contains__(self, type_id: object) -> bool:
        return type_id in self._offsets

    def __iter__(self) -> Iterator[int]:
        return iter(self._offsets)

    def __len__(self) -> int:
        return len(self._offsets)


# --- btf encode -------------------------------------------------------------------
def encode_file(path: Path, funcs: bool = True, use_cache: bool = True,
                progress: Callable[[int, int], None] | None = None,
                runtime_graph: Callable[[], "TypeGraph"] | None = None) -> EncodedFile:
    """Encode a binary, reusing the cached result for the same content and options.

    The cache key (:func:`dwarfdiag.cache.derived_key`) covers the binary's
    bytes and dwarfdiag's code, so a warm run reads one verified entry and
    touches neither DWARF nor the encoder, and a changed rule is never
    answered from an entry the old rule filled. With functions, the entry is the
    analyses' (:func:`encoded_binary`), every type's provenance cached beside it;
    without, provenance (a dict per type) is worked out only when asked for, and
    then kept in an entry of its own. ``runtime_graph``: the binary has no DWARF, its
    types are the graph of its runtime descriptors this gives.
    """
    types_from = "dwarf" if runtime_graph is None else "runtime"
    key = _key(path, funcs, types_from) if use_cache else ""

    def read_graph(**options) -> "TypeGraph":
        from dwarfdiag.dwarf.loader import load_typegraph

        if runtime_graph is not None:
            return runtime_graph()
        return load_typegraph(path, progress=progress, function_bodies=False,
                              encoder_bodies=True, **options)

    def fresh() -> EncodedFile:
        from dwarfdiag.btf.encoder import encode
        from dwarfdiag.btf.raw import write_btf

        if use_cache and funcs:
            # the analyses' own encoding (the same entry): the graph and every type's
            # provenance are cached beside it by children on the second core, so an
            # explain or a check after this reads no DWARF
            enc, raw = encoded_binary(path, lambda: read_graph(store=False), types_from)
            return EncodedFile(raw(), enc.warnings, len(enc.btf.types),
                               load_provenance=lambda: dict(enc.provenance))
        enc = encode(read_graph(use_cache=use_cache), funcs=funcs)
        raw = write_btf(enc.btf)
        if use_cache:
            _store(key, enc, raw)

        def provenance() -> dict[int, dict]:
            every = dict(enc.provenance)  # each type's, worked out now
            if use_cache:
                _store_provenance(key, every)
            return every

        return EncodedFile(raw, enc.warnings, len(enc.btf.types), load_provenance=provenance)

    hit = _load(key) if use_cache else None
    if hit is not None:
        raw, warnings, types, _, _ = hit
        return EncodedFile(raw, warnings, types, cached=True,
                           load_provenance=lambda: _load_provenance(key) or fresh().provenance)
    return fresh()


# --- the analyses' encoding -------------------------------------------------------
def encoded_binary(path: Path, graph: Callable[[], "TypeGraph"], types_from: str = "dwarf"
                   ) -> tuple["Encoded", Callable[[], bytes]]:
    """The encoding of ``path`` with functions, and a function giving its raw BTF
    (written only when asked for: a check never asks): from the cache when both
    entries are there, else from the encoder over ``graph()`` (which then fills
    both, so the next command on this binary reads them).

    A cached encoding is parsed back from its raw BTF (the layout checked as any
    input's; libbpf's per-type checks left out, as for the encoder's own BTF when it
    is fresh); every type's provenance comes from its own entry, so no DWARF is read.
    The cache writes are background work (:func:`~dwarfdiag.fork.in_background`):
    the graph's, if ``graph()`` left that to the caller
    (:func:`~dwarfdiag.dwarf.loader.put_in_cache`), and the encoding's with every
    type's provenance (working them all out is a tenth of the encoding's time; this
    run needs a few).
    In the script both wait until the command has left; called as a library, children
    write them on the second core while the encoder runs.
    """
    from dwarfdiag.btf.encoder import Encoded, encode
    from dwarfdiag.btf.raw import parse_btf, write_btf

    key = _key(path, True, types_from)
    hit = _load(key)
    if hit is not None:
        provenance = _load_provenance(key)
        if provenance is not None:
            raw, warnings, _, skipped, units = hit
            return Encoded(parse_btf(raw, sanity=False), provenance, warnings, str(path),
                           skipped, units), lambda: raw
    from dwarfdiag.dwarf.loader import put_in_cache

    g = graph()
    put_in_cache(g, in_background)
    enc = encode(g)
    raw_btf = functools.cache(lambda: write_btf(enc.btf))

    def store() -> None:
        _store(key, enc, raw_btf())
        _store_provenance(key, enc.provenance)

    in_background(store, reserve([("encoded", key), ("provenance", key)]))
    return enc, raw_btf
