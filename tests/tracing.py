"""Tracers in the live tests: attach one (bpftrace, or a probe kit's libbpf loader),
let something run, stop it and keep what it printed; and the ``vmlinux.h`` a libbpf
program builds against. A test skips only when the kernel refuses the uprobe."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

REFUSED = re.compile(r"Operation not permitted|EPERM|permission denied", re.I)


@dataclass
class Trace:
    output: str = ""  # what the tracer printed on the stream it reports on


@contextmanager
def traced(argv: list[str], marker: str, marker_on_stderr: bool, cwd: Path,
           seconds: float = 60):
    """Run ``argv`` until it prints ``marker`` (attached), give the body the time it
    takes, then stop it with SIGINT; ``Trace.output`` is what it printed (on stdout,
    or where the marker is for a tracer that reports on stderr)."""
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    trace = Trace()
    try:
        early = _wait_for(proc.stderr if marker_on_stderr else proc.stdout, marker, proc,
                          seconds)
        time.sleep(1.5)  # bpftrace prints "Attaching 1 probe..." before it attaches
        yield trace
        time.sleep(1.0)  # let the last events drain
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        trace.output = out if marker_on_stderr else early + out
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait_for(stream, marker: str, proc: subprocess.Popen, seconds: float) -> str:
    """Read ``stream`` until a line containing ``marker``; the text read so far."""
    seen, deadline = "", time.monotonic() + seconds
    while time.monotonic() < deadline:
        if select.select([stream], [], [], 0.2)[0]:
            line = stream.readline()
            if not line and proc.poll() is not None:
                break
            seen += line
            if marker in line:
                return seen
        elif proc.poll() is not None:
            break
    rest = proc.communicate(timeout=10) if proc.poll() is not None else ("", "")
    said = seen + "".join(r or "" for r in rest)
    if REFUSED.search(said):
        pytest.skip(f"the kernel refused the uprobe: {said.strip().splitlines()[-1]}")
    pytest.fail(f"{' '.join(map(str, proc.args))} never printed {marker!r}:\n{said}")


def wait_for_line(stream, marker: str, proc: subprocess.Popen, seconds: float) -> str:
    """Read a server's ``stream`` until ``marker`` (it is ready)."""
    return _wait_for(stream, marker, proc, seconds)


def vmlinux_h(out: Path, bpftool: str = "bpftool") -> Path:
    """``bpftool btf dump file /sys/kernel/btf/vmlinux format c`` into ``out``."""
    if not Path("/sys/kernel/btf/vmlinux").exists():
        pytest.skip("the kernel has no /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF)")
    out.write_text(subprocess.run([bpftool, "btf", "dump", "file", "/sys/kernel/btf/vmlinux",
                                   "format", "c"], check=True, capture_output=True,
                                  text=True).stdout)
    return out
