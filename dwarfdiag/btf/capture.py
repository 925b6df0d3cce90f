"""pahole's own BTF, captured just before it calls ``btf__dedup``.

pahole writes nothing when dedup fails, so the BTF it built is normally lost.
We run pahole with ``native/capture_dedup.c`` preloaded (``LD_PRELOAD``,
which the dynamic loader honours also when pahole runs under an unpacked
toolchain's own ``ld-linux``): the interposer saves the raw BTF handed to
``btf__dedup`` and the value libbpf returned, then pahole carries on as usual.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from dwarfdiag.btf.native import CAPTURE, build
from dwarfdiag.toolchains.pahole import PaholeRun, encode_detached
from dwarfdiag.errors import ToolchainError

METHOD = "LD_PRELOAD interposer of btf__dedup"


@dataclass
class Capture:
    btf: bytes  # raw BTF as pahole passed it to btf__dedup
    dedup_ret: int | None  # what the real btf__dedup returned (0 or -errno)
    method: str
    pahole: str  # label of the pahole that ran
    run: PaholeRun

    def as_dict(self) -> dict:
        return {"method": self.method, "pahole": self.pahole, "dedup_ret": self.dedup_ret,
                "btf_bytes": len(self.btf), "run": self.run.as_dict()}


def capture(binary: Path, argv: list[str], label: str, timeout: float = 600) -> Capture:
    interposer = build(CAPTURE)
    with tempfile.TemporaryDirectory() as tmp:
        prefix = Path(tmp) / "capture"
        run = encode_detached(argv, Path(binary), timeout,
                              env={"LD_PRELOAD": str(interposer), "DWARFDIAG_CAPTURE": str(prefix)})
        saved = Path(f"{prefix}.0.btf")
        ret = Path(f"{prefix}.0.ret")
        if not saved.exists():
            said = "; ".join(run.error_lines[-3:]) or f"exit code {run.returncode}"
            raise ToolchainError(f"{label} never reached btf__dedup on {binary} ({said}); "
                                 f"nothing to capture")
        text = ret.read_text().strip() if ret.exists() else ""
        return Capture(saved.read_bytes(), int(text) if text else None, METHOD, label, run)
