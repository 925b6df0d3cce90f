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


def capture_key(binary: Path, identity: str) -> str:
    """The cache key of this pahole's (``identity``) capture of ``binary``."""
    from dwarfdiag.cache import derived_key

    return derived_key(Path(binary), "capture", identity)


def cached_capture(binary: Path, argv: list[str], label: str, identity: str | None,
                   timeout: float = 600) -> Capture:
    """:func:`capture`, answered from the cache when this very pahole (``identity``,
    see :meth:`~dwarfdiag.toolchains.suites.Toolchain.identity`) captured these bytes
    before with this code: pahole's BTF is a function of them. ``identity`` None
    (a pahole nothing can be told of, such as a script): run every time."""
    import marshal

    from dwarfdiag.cache import load_derived, store_derived

    if identity is None:
        return capture(binary, argv, label, timeout)
    key = capture_key(binary, identity)
    payload = load_derived("capture", key)
    if payload is not None:
        try:
            btf, ret, run = marshal.loads(payload)
            run = PaholeRun(**{**run, "error_lines": tuple(run["error_lines"])})
            if isinstance(btf, bytes) and (ret is None or isinstance(ret, int)):
                return Capture(btf, ret, METHOD, label, run)
        except (ValueError, EOFError, TypeError, KeyError):
            pass  # a verified entry of another shape: run pahole
    cap = capture(binary, argv, label, timeout)
    store_derived("capture", key, marshal.dumps((cap.btf, cap.dedup_ret, cap.run.as_dict())))
    return cap


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
