"""``btf encode``'s result for one binary, from the cache or from the encoder.

Kept apart from :mod:`dwarfdiag.btf.encoder` so that a warm run imports only
the cache: it reads one verified entry and touches neither DWARF nor the
encoder.
"""

from __future__ import annotations

import json
import marshal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from dwarfdiag.cache import derived_key, load_derived, store_derived


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
        doc = {"source": source, "types": self.types,
               "provenance": {str(k): v for k, v in sorted(self.provenance.items())}}
        return json.dumps(doc, indent=2, ensure_ascii=True) + "\n"


def encode_file(path: Path, funcs: bool = True, use_cache: bool = True,
                progress: Callable[[int, int], None] | None = None) -> EncodedFile:
    """Encode a binary, reusing the cached result for the same content and options.

    The cache key (:func:`dwarfdiag.cache.derived_key`) covers the binary's
    bytes and dwarfdiag's code, so a warm run reads one verified entry and
    touches neither DWARF nor the encoder, and a changed rule is never
    answered from an entry the old rule filled. Provenance (a dict per type)
    is worked out only when asked for, and then kept in an entry of its own.
    """
    key = derived_key(Path(path), "encoded", "funcs" if funcs else "nofuncs") \
        if use_cache else ""

    def fresh() -> EncodedFile:
        from dwarfdiag.btf.encoder import encode
        from dwarfdiag.btf.raw import write_btf
        from dwarfdiag.dwarf.loader import load_typegraph

        enc = encode(load_typegraph(path, use_cache=use_cache, progress=progress), funcs=funcs)
        raw = write_btf(enc.btf)
        if use_cache:
            store_derived("encoded", key, marshal.dumps((raw, enc.warnings, len(enc.btf.types))))
        return EncodedFile(raw, enc.warnings, len(enc.btf.types),
                           load_provenance=lambda: provenance_of(enc.provenance))

    def provenance_of(lazy) -> dict[int, dict]:
        prov = dict(lazy)  # every type's, worked out now
        if use_cache:
            store_derived("provenance", key, marshal.dumps(prov))
        return prov

    def cached_provenance() -> dict[int, dict]:
        payload = load_derived("provenance", key)
        try:
            prov = marshal.loads(payload) if payload is not None else None
        except (ValueError, EOFError, TypeError):
            prov = None
        return prov if isinstance(prov, dict) else fresh().provenance

    payload = load_derived("encoded", key) if use_cache else None
    if payload is not None:
        try:
            raw, warnings, types = marshal.loads(payload)
            if isinstance(raw, bytes) and isinstance(warnings, dict) and isinstance(types, int):
                return EncodedFile(raw, warnings, types, cached=True,
                                   load_provenance=cached_provenance)
        except (ValueError, EOFError, TypeError):
            pass
    return fresh()
