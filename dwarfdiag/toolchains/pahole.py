"""Run pahole's BTF encoder the way users do and record what it says.

``pahole --btf_encode_detached=OUT BINARY`` is the command from the seed talk
and docs/facts.md. On failure pahole prints ``btf__dedup failed!`` and writes no
file; we keep its output lines and exit code verbatim.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from dwarfdiag.toolchains.run import run_tool


@dataclass(frozen=True)
class PaholeRun:
    binary: str
    pahole: str
    returncode: int
    encoded: bool
    wall_seconds: float
    error_lines: tuple[str, ...] = field(default_factory=tuple)
    not_handled: dict[str, int] = field(default_factory=dict)  # warnings per DWARF tag
    btf: bytes | None = None

    def as_dict(self) -> dict:
        return {"binary": self.binary, "pahole": self.pahole, "returncode": self.returncode,
                "encoded": self.encoded, "wall_seconds": round(self.wall_seconds, 3),
                "error_lines": list(self.error_lines), "not_handled": self.not_handled}


def encode_detached(pahole: str | Sequence[str], binary: Path,
                    timeout: float = 600, env: dict[str, str] | None = None) -> PaholeRun:
    """Run ``pahole --btf_encode_detached`` on ``binary`` and collect the result.

    ``pahole`` is an executable, or the argv prefix that runs one (an unpacked
    toolchain runs through its own loader).
    """
    argv = [pahole] if isinstance(pahole, str) else list(pahole)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.btf"
        start = time.perf_counter()
        proc = run_tool([*argv, f"--btf_encode_detached={out}", str(binary)], timeout,
                        env={**os.environ, **env} if env else None)
        wall = time.perf_counter() - start
        btf = out.read_bytes() if out.exists() and proc.returncode == 0 else None
    lines = (proc.stdout + proc.stderr).splitlines()
    not_handled: dict[str, int] = {}
    errors = []
    for line in lines:
        # "die__process_unit: DW_TAG_constant (0x27) @ <0x8847d> not handled!"
        if line.endswith("not handled!") and "DW_TAG_" in line:
            tag = line.split("DW_TAG_", 1)[1].split()[0]
            not_handled["DW_TAG_" + tag] = not_handled.get("DW_TAG_" + tag, 0) + 1
        elif line.strip():
            errors.append(line.strip())
    return PaholeRun(str(binary), argv[-1], proc.returncode, btf is not None, wall,
                     tuple(errors), not_handled, btf)
