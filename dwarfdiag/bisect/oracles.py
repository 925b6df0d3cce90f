"""The bisect oracles: does this subset of types still fail dedup, the same way?

All oracles answer with libbpf's errno for a BTF (0: dedup succeeds):

* ``replay``: our replay of ``btf__dedup`` at ``--libbpf`` semantics (fast,
  runs in the worker processes);
* ``libbpf``: the real libbpf of that version: Debian 12's 1.1.2 in-process,
  1.5 (trixie) or 1.7 (sid) through the helper under its own loader;
* ``pahole``: the libbpf that pahole of ``--toolchain`` uses, fed with
  subsets of the BTF that pahole itself built (captured before dedup).
"""

from __future__ import annotations

import errno as errno_mod
from dataclasses import dataclass

from dwarfdiag.btf.model import Btf
from dwarfdiag.errors import BadInputError

KINDS = ("replay", "libbpf", "pahole")
SUITE_OF_LIBBPF = {"1.1": "system", "1.5": "trixie", "1.7": "sid"}


@dataclass(frozen=True)
class OracleSpec:
    kind: str
    libbpf: str = "1.5"  # replay variant, or real libbpf version
    toolchain: str | None = None  # for the pahole oracle

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise BadInputError(f"unknown oracle {self.kind!r}; choose {', '.join(KINDS)}")
        if self.kind == "pahole" and not self.toolchain:
            raise BadInputError("the pahole oracle needs --toolchain (bookworm, trixie, sid, "
                                "system)")
        if self.kind == "libbpf" and self.libbpf not in SUITE_OF_LIBBPF:
            raise BadInputError(f"no real libbpf {self.libbpf} here; choose "
                                f"{', '.join(SUITE_OF_LIBBPF)}")
        if self.kind == "replay":
            from dwarfdiag.dedup.variants import variant

            variant(self.libbpf)  # an unknown variant fails here, not in a worker
        if self.toolchain:
            from dwarfdiag.toolchains.suites import parse_names

            parse_names(self.toolchain)

    @property
    def replay_variant(self) -> str:
        """The replay variant that behaves like this oracle (to show its failing chain)."""
        if self.kind != "pahole":
            return self.libbpf
        from dwarfdiag.toolchains.suites import ensure
        from dwarfdiag.dedup.variants import variant_for

        return variant_for(ensure(self.toolchain).libbpf_version)

    @property
    def label(self) -> str:
        if self.kind == "replay":
            return f"replay (libbpf {self.libbpf} semantics)"
        if self.kind == "libbpf":
            return f"real libbpf {self.libbpf}"
        return f"libbpf of pahole toolchain {self.toolchain}"


def make_oracle(spec: OracleSpec):
    """A callable ``Btf -> errno`` for ``spec`` (built once per process)."""
    from dwarfdiag.btf.raw import write_btf

    if spec.kind == "replay":
        from dwarfdiag.dedup.driver import replay
        from dwarfdiag.dedup.variants import variant

        v = variant(spec.libbpf)

        def run(btf: Btf) -> int:
            result = replay(btf, v)
            return -errno_mod.ETIME if result.hangs else result.error
        return run
    from dwarfdiag.btf.libbpf import HelperLibbpf, system_oracle
    from dwarfdiag.toolchains.suites import ensure

    name = spec.toolchain if spec.kind == "pahole" else SUITE_OF_LIBBPF[spec.libbpf]
    real = system_oracle() if name == "system" else HelperLibbpf.for_toolchain(ensure(name))
    return lambda btf: real.dedup(write_btf(btf)).error
