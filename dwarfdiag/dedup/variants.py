"""Which libbpf ``btf__dedup`` the replay behaves like.

Every behaviour difference between the versions that can change the output
or the verdict is a flag here, and each variant names the libbpf commit (or
release) its code follows. The differences were read off the released
sources (``src/btf.c`` of libbpf v1.1.2, v1.5.0 and v1.7.0 as Debian ships
them) by diffing their dedup code:

* v1.1 -> v1.5: no change to the algorithm (only iterator plumbing).
* v1.6 (commit "libbpf: Generalize btf_dedup_identical_types", 2025): the
  equivalence check's escape hatch for "identical" types, which 1.5 applies
  only to arrays and structs/unions, becomes a recursive structural
  comparison over every kind, limited to depth 16. Its ARRAY case reads
  both arrays from the first type (``a2 = btf_array(t1)``), so index and
  element types are compared with themselves; the replay keeps that.
* v1.7 (commit 37027144 "Fix BTF dedup to support recursive typedef
  definitions"): TYPEDEF is hashed by name and info only and deduplicated
  in the struct phase with the graph-equivalence check, instead of in the
  reference phase, so cycles through a typedef no longer return -ELOOP.
* master after v1.7.0 (commit 5b0f3729): base-BTF typedefs are hashed the
  way the struct phase looks them up. In 1.7 ``btf_dedup_prep`` still
  hashes base TYPEDEFs with ``btf_hash_common`` (which includes the
  referenced id), so split-BTF typedefs never find their base twin. We had
  no master build to check this variant against; its change is taken from
  the commit's description, the only variant not verified by a real libbpf.
"""

from __future__ import annotations

from dataclasses import dataclass

from dwarfdiag.errors import NotFoundError


@dataclass(frozen=True)
class Variant:
    name: str
    follows: str  # the libbpf release or commit whose code this variant ports
    identical_types_generalised: bool  # 1.6+: btf_dedup_identical_types()
    typedef_in_struct_phase: bool  # 1.7+: 37027144
    typedef_hash_in_prep: bool  # master: 5b0f3729
    verified_against: str | None  # the real libbpf the tests compare it with


VARIANTS = {
    v.name: v for v in (
        Variant("1.1", "libbpf v1.1.2 (src/btf.c)", False, False, False, "libbpf 1.1.2 (Debian 12)"),
        Variant("1.5", "libbpf v1.5.0 (src/btf.c)", False, False, False, "libbpf 1.5.0 (Debian trixie)"),
        Variant("1.6", "libbpf v1.6 (btf_dedup_identical_types generalised)", True, False, False, None),
        Variant("1.7", "libbpf v1.7.0 (src/btf.c, with 37027144)", True, True, False,
                "libbpf 1.7.0 (Debian sid)"),
        Variant("master", "libbpf master after v1.7.0 (5b0f3729)", True, True, True, None),
    )
}
DEFAULT = "1.7"


def variant(name: str) -> Variant:
    try:
        return VARIANTS[name]
    except KeyError:
        raise NotFoundError(f"unknown libbpf variant {name!r}; choose one of "
                            f"{', '.join(VARIANTS)}") from None


def algorithm(v: Variant) -> tuple[bool, bool, bool]:
    """What decides a variant's verdicts: variants with the same algorithm (1.1 and
    1.5) fail on the same types, so one bisect serves both."""
    return (v.identical_types_generalised, v.typedef_in_struct_phase, v.typedef_hash_in_prep)


def variant_for(libbpf_version: str) -> str:
    """The replay variant for a real libbpf version (1.1.2 -> 1.1, 1.5.0 -> 1.5, ...)."""
    major_minor = ".".join(libbpf_version.split(".")[:2])
    if major_minor in VARIANTS:
        return major_minor
    known = sorted((tuple(int(x) for x in k.split(".")), k) for k in VARIANTS if k[0].isdigit())
    try:
        have = tuple(int(x) for x in major_minor.split("."))
    except ValueError:
        return "1.7"
    below = [k for v, k in known if v <= have]
    return below[-1] if below else known[0][1]
