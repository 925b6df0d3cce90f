"""The real libbpf as an oracle: run ``btf__dedup()`` on raw BTF.

pahole's only verdict on a Go binary is whether ``btf__dedup()`` succeeded, so
the ground truth for every dwarfdiag diagnosis is the real function. An
oracle takes raw BTF (and an optional base for split BTF) and returns the
deduplicated raw BTF or the negative errno, plus whatever libbpf logged.

:class:`InProcessLibbpf` loads a ``libbpf.so.1`` that this Python can load
(Debian 12's 1.1.2) with ctypes. Newer libbpf builds need glibc >= 2.38 and
cannot be loaded here; they will run behind the same :class:`LibbpfOracle`
interface through a helper executable started under their own loader.

libbpf API used (stable since libbpf 1.0): ``btf__new``,
``btf__new_split``, ``btf__dedup(btf, NULL)``, ``btf__raw_data``,
``btf__free``, ``libbpf_set_print``, ``libbpf_version_string``.
"""

from __future__ import annotations

import ctypes
import errno
import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from dwarfdiag.errors import ToolchainError
from dwarfdiag.toolchains.tools import find_system_libbpf, libbpf_file_version

@dataclass(frozen=True)
class DedupResult:
    """Outcome of one btf__dedup() call.

    ``error`` is libbpf's negative errno (0 on success); ``btf`` is the
    deduplicated raw BTF on success. ``log`` holds libbpf's own messages,
    including the pr_debug lines pahole only shows with -V.
    """

    error: int
    btf: bytes | None
    libbpf_version: str
    log: tuple[str, ...] = field(default_factory=tuple)
    stage: str = "dedup"  # "load" if btf__new refused the input before dedup

    @property
    def ok(self) -> bool:
        return self.error == 0

    @property
    def error_name(self) -> str:
        """-ELOOP style name of the error, "" on success."""
        if not self.error:
            return ""
        return "-" + errno.errorcode.get(-self.error, str(-self.error))


KERNEL_LOG_BYTES = 16 << 20  # the kernel lists every type before the one it refuses


class _BtfLoadOpts(ctypes.Structure):
    """libbpf's ``struct bpf_btf_load_opts`` (since 1.0)."""

    _fields_ = [("sz", ctypes.c_size_t), ("log_buf", ctypes.c_void_p),
                ("log_level", ctypes.c_uint32), ("log_size", ctypes.c_uint32)]


class LibbpfOracle(Protocol):
    """Anything that can run libbpf's btf__dedup on raw BTF."""

    version: str

    def dedup(self, raw: bytes, base: bytes | None = None) -> DedupResult: ...


# libbpf_print_fn_t: int (*)(enum libbpf_print_level, const char *fmt, va_list)
# On x86-64 and arm64 a va_list argument is passed as a pointer, so it can be
# handed straight to vsnprintf.
_PRINT_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)


class InProcessLibbpf:
    """libbpf loaded into this process with ctypes.

    libbpf keeps one global print callback, so calls are serialised with a
    lock and each call collects its own log lines.
    """

    _lock = threading.Lock()

    def __init__(self, path: str | os.PathLike | None = None):
        path = str(path) if path else find_system_libbpf()
        try:
            self._lib = ctypes.CDLL(path, use_errno=True)
        except OSError as e:
            raise ToolchainError(
                f"cannot load libbpf from {path}: {e}; on Debian 12 install it "
                f"with 'apt-get install libbpf1'") from e
        self.path = path
        self._libc = ctypes.CDLL(None)
        try:
            self._declare()
        except AttributeError as e:  # a library, but not libbpf
            raise ToolchainError(f"{path} is not libbpf (it has no {str(e).split(': ')[-1]}); "
                                 f"give a libbpf.so.1") from None
        self.version = (libbpf_file_version(path)
                        or self._lib.libbpf_version_string().decode().lstrip("v"))
        self._log: list[str] = []
        self._printer = _PRINT_FN(self._on_print)  # keep a reference: C holds it

    def _declare(self) -> None:
        lib, c = self._lib, ctypes
        lib.libbpf_version_string.restype = c.c_char_p
        lib.btf__new.restype = c.c_void_p
        lib.btf__new.argtypes = [c.c_void_p, c.c_uint32]
        # btf__new_split() only exists since libbpf 1.3; older ones parse
        # split BTF from a file
        lib.btf__parse_raw_split.restype = c.c_void_p
        lib.btf__parse_raw_split.argtypes = [c.c_char_p, c.c_void_p]
        lib.btf__dedup.restype = c.c_int
        lib.btf__dedup.argtypes = [c.c_void_p, c.c_void_p]
        lib.btf__raw_data.restype = c.c_void_p
        lib.btf__raw_data.argtypes = [c.c_void_p, c.POINTER(c.c_uint32)]
        lib.btf__free.restype = None
        lib.btf__free.argtypes = [c.c_void_p]
        lib.libbpf_set_print.restype = c.c_void_p
        lib.libbpf_set_print.argtypes = [c.c_void_p]
        lib.bpf_btf_load.restype = c.c_int
        lib.bpf_btf_load.argtypes = [c.c_void_p, c.c_size_t, c.c_void_p]
        self._libc.vsnprintf.restype = c.c_int
        self._libc.vsnprintf.argtypes = [c.c_char_p, c.c_size_t, c.c_char_p, c.c_void_p]

    def _on_print(self, level: int, fmt: bytes, args: int) -> int:
        buf = ctypes.create_string_buffer(4096)
        self._libc.vsnprintf(buf, len(buf), fmt, args)
        self._log.append(buf.value.decode(errors="replace").rstrip("\n"))
        return 0

    def dedup(self, raw: bytes, base: bytes | None = None) -> DedupResult:
        with self._lock:
            self._log = []
            previous = self._lib.libbpf_set_print(ctypes.cast(self._printer, ctypes.c_void_p))
            try:
                return self._dedup_locked(raw, base)
            finally:
                self._lib.libbpf_set_print(previous)

    def load_into_kernel(self, raw: bytes) -> DedupResult:
        """BPF_BTF_LOAD through libbpf's ``bpf_btf_load``: does the running kernel accept
        this BTF? ``error`` is 0 or the negative errno; on a refusal ``log`` ends with the
        kernel's own explanation (its last lines). The loaded object is closed at once."""
        refused = _refused_by_libbpf(raw, None)
        if refused is not None:
            return DedupResult(-errno.EINVAL, None, self.version, (refused,), "load")
        buf = ctypes.create_string_buffer(raw, len(raw))
        ctypes.set_errno(0)
        fd = self._lib.bpf_btf_load(buf, len(raw), None)
        if fd >= 0:
            os.close(fd)
            return DedupResult(0, None, self.version, (), "kernel")
        err = -(ctypes.get_errno() or errno.EINVAL)
        log = ctypes.create_string_buffer(KERNEL_LOG_BYTES)
        opts = _BtfLoadOpts(ctypes.sizeof(_BtfLoadOpts), ctypes.cast(log, ctypes.c_void_p), 1,
                            KERNEL_LOG_BYTES)
        fd = self._lib.bpf_btf_load(buf, len(raw), ctypes.byref(opts))
        if fd >= 0:  # accepted the second time: say so rather than guess
            os.close(fd)
            return DedupResult(0, None, self.version, (), "kernel")
        tail = log.value.decode(errors="replace").strip().splitlines()[-4:]
        return DedupResult(err, None, self.version, tuple(tail), "kernel")

    def _new(self, raw: bytes, base_ptr: int | None) -> tuple[int | None, int]:
        buf = ctypes.create_string_buffer(raw, len(raw))
        ctypes.set_errno(0)
        if base_ptr is None:
            ptr = self._lib.btf__new(buf, len(raw))
        else:
            with tempfile.NamedTemporaryFile(suffix=".btf") as f:
                f.write(raw)
                f.flush()
                ptr = self._lib.btf__parse_raw_split(f.name.encode(), base_ptr)
        if not ptr:
            return None, -(ctypes.get_errno() or errno.EINVAL)
        return ptr, 0

    def _dedup_locked(self, raw: bytes, base: bytes | None) -> DedupResult:
        refused = _refused_by_libbpf(raw, base)
        if refused is not None:
            self._log.append(refused)
            return DedupResult(-errno.EINVAL, None, self.version, tuple(self._log), "load")
        base_ptr = None
        if base is not None:
            base_ptr, err = self._new(base, None)
            if base_ptr is None:
                return DedupResult(err, None, self.version, tuple(self._log), "load")
        try:
            ptr, err = self._new(raw, base_ptr)
            if ptr is None:
                return DedupResult(err, None, self.version, tuple(self._log), "load")
            try:
                err = self._lib.btf__dedup(ptr, None)
                if err:
                    return DedupResult(err, None, self.version, tuple(self._log))
                size = ctypes.c_uint32(0)
                data = self._lib.btf__raw_data(ptr, ctypes.byref(size))
                out = ctypes.string_at(data, size.value) if data else None
                return DedupResult(0, out, self.version, tuple(self._log))
            finally:
                self._lib.btf__free(ptr)
        finally:
            if base_ptr is not None:
                self._lib.btf__free(base_ptr)


def _refused_by_libbpf(raw: bytes, base: bytes | None) -> str | None:
    """Why btf__new() of libbpf >= 1.3 refuses this input, or None.

    libbpf 1.1 has no btf_sanity_check() and would let btf__dedup() index
    past its arrays on a dangling type id (a crash of this whole process), so
    every oracle applies the newer library's load checks first. Returning
    -EINVAL at "load" is what libbpf 1.3+ itself does.
    """
    from dwarfdiag.btf.raw import parse_btf
    from dwarfdiag.errors import BtfFormatError

    try:
        parse_btf(raw, parse_btf(base) if base is not None else None)
    except BtfFormatError as e:
        return str(e)
    return None


_default: InProcessLibbpf | None = None


def system_oracle() -> InProcessLibbpf:
    """The shared in-process oracle over the system libbpf (loaded once)."""
    global _default
    if _default is None:
        _default = InProcessLibbpf()
    return _default


class HelperLibbpf:
    """libbpf run in a helper process, for libbpf builds this Python cannot load.

    The helper (``native/dedup_helper.c``, built on demand by the system
    compiler) dlopens ``libbpf.so.1``; started under an unpacked toolchain's
    loader and ``--library-path`` it gets that toolchain's libbpf 1.5 or 1.7.
    """

    def __init__(self, prefix: list[str], version: str, timeout: float = 600):
        from dwarfdiag.btf.native import DEDUP_HELPER, build

        self.helper = build(DEDUP_HELPER)
        self.prefix = list(prefix)
        self.version = version
        self.timeout = timeout

    @classmethod
    def for_toolchain(cls, toolchain) -> "HelperLibbpf":
        """The libbpf of an installed :class:`~dwarfdiag.toolchains.suites.Toolchain`."""
        from dwarfdiag.toolchains import debian

        prefix = [] if toolchain.root is None else debian.loader_prefix(Path(toolchain.root))
        return cls(prefix, toolchain.libbpf_version)

    def dedup(self, raw: bytes, base: bytes | None = None) -> DedupResult:
        from dwarfdiag.toolchains.run import run_tool

        refused = _refused_by_libbpf(raw, base)
        if refused is not None:
            return DedupResult(-errno.EINVAL, None, self.version, (refused,), "load")
        with tempfile.TemporaryDirectory() as tmp:
            src, out = Path(tmp) / "in.btf", Path(tmp) / "out.btf"
            src.write_bytes(raw)
            argv = [*self.prefix, str(self.helper), str(src), str(out)]
            if base is not None:
                (Path(tmp) / "base.btf").write_bytes(base)
                argv.append(str(Path(tmp) / "base.btf"))
            proc = run_tool(argv, self.timeout)
            status = proc.stdout.strip().splitlines()[-1:] if proc.stdout.strip() else []
            fields = dict(kv.split("=", 1) for kv in status[0].split() if "=" in kv) \
                if status else {}
            if proc.returncode != 0 or not fields.get("ret", "").lstrip("-").isdigit():
                raise ToolchainError(f"libbpf {self.version} dedup helper failed "
                                     f"(exit {proc.returncode}): {proc.stderr.strip()[-300:]}")
            err = int(fields["ret"])
            log = tuple(line for line in proc.stderr.splitlines() if line.strip())
            data = out.read_bytes() if err == 0 and out.exists() else None
            return DedupResult(err, data, self.version, log, fields.get("stage", "dedup"))
