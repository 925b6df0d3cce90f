"""One binary, analysed: its TypeGraph, our BTF, pahole's BTF and the check between them.

This is the application layer's one way of turning a binary into BTF. The
CLI (``check``, ``dedup explain|trace``, ``bisect``), the investigation's
diagnosis and the replay's inputs all go through :class:`BinaryAnalysis`,
so "capture pahole's BTF, then check it against our faithful encoding" is
written once. Each step runs when it is first asked for and is kept: the
check and a dedup input over pahole's BTF share one capture.
"""

from __future__ import annotations

import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from dwarfdiag.btf.encoder import Encoded
from dwarfdiag.btf.raw import parse_btf
from dwarfdiag.dedup.inputs import DedupInput, from_btf_file
from dwarfdiag.dwarf.typegraph import TypeGraph
from dwarfdiag.errors import BtfFormatError, UnsupportedError
from dwarfdiag.target import Target

if TYPE_CHECKING:  # pahole's side (the capture, the toolchains, the check) when used
    from dwarfdiag.btf.capture import Capture
    from dwarfdiag.btf.consistency import CheckReport

ENCODER_SOURCE = "dwarfdiag encoder (pahole 1.32 rules)"

Progress = Callable[[int, int], None]  # (bytes of .debug_info read, total)


class PaholeChoice:
    """Which pahole to run: its argv, the label that names its versions, and what
    makes its runs repeatable (``identity``; None: run it every time).

    The label and the identity are worked out when first asked for (pahole's
    version, ``ldd`` and a hash of every library it loads: three tools to run), in a check by
    the thread that runs pahole, while this one hashes the binary.
    """

    def __init__(self, argv: Sequence[str], label: str | Callable[[], str],
                 identity: str | None | Callable[[], str | None] = None):
        self.argv = tuple(argv)
        self._label, self._identity = label, identity

    @cached_property
    def label(self) -> str:
        return self._label() if callable(self._label) else self._label

    @cached_property
    def identity(self) -> str | None:
        return self._identity() if callable(self._identity) else self._identity

    @classmethod
    def of(cls, pahole: str | None = None, toolchain: str | None = None) -> "PaholeChoice":
        """``--pahole PATH`` or ``--toolchain NAME`` (default: the system's pahole)."""
        from dwarfdiag.toolchains.suites import (SYSTEM, linked_identity, one_pahole, require,
                                                 system_pahole)

        one_pahole(pahole, toolchain)
        if pahole:
            return cls((pahole,), pahole, lambda: linked_identity(pahole))
        if toolchain in (None, SYSTEM):
            path = system_pahole()  # there, or the error saying how to install it
            return cls((path,), lambda: require(SYSTEM).label, lambda: linked_identity(path))
        return cls.of_toolchain(require(toolchain))

    @classmethod
    def of_toolchain(cls, tc) -> "PaholeChoice":
        return cls(tc.pahole_argv(), tc.label, tc.identity)


class BinaryAnalysis:
    """A target's DWARF and the BTF made from it, computed on demand."""

    def __init__(self, target: Target, progress: Progress | None = None,
                 function_bodies: bool = True):
        """``function_bodies=False``: what is asked of this binary needs no DIE inside a
        function but those the encoder reads (check, explain, final, header), so the
        graph leaves the others out: half the DIEs, faster and in half the memory."""
        self.target = target
        self.path = target.types_file  # the types are read (pahole runs) on this file
        self.progress = progress
        self.function_bodies = function_bodies
        self._captures: dict[tuple[str, ...], Capture] = {}  # by pahole's argv
        # while pahole may run beside a read: set once the pahole thread knows whether
        # it runs, and what it found (then a read stays on this core)
        self._beside: tuple[threading.Event, dict] | None = None

    @cached_property
    def graph(self) -> TypeGraph:
        return self._load_graph(store=True)

    def _load_graph(self, store: bool) -> TypeGraph:
        from dwarfdiag.dwarf.loader import load_typegraph

        if self.target.dwarf is None:
            return self.target.runtime.typegraph(methods=self.function_bodies)
        # the encoder needs the bodies of the functions pahole may encode (parameters
        # make FUNC_PROTOs), and none other: a gc binary's are a tenth of them all
        for_encoder = "_encoding" not in self.__dict__
        return load_typegraph(self.path, progress=self.progress,
                              function_bodies=self.function_bodies, encoder_bodies=for_encoder,
                              store=store, one_core=self._pahole_runs())

    def _pahole_runs(self) -> bool:
        """Does pahole run on the other core now? (Waits until the pahole thread
        knows: it works out pahole's identity and the capture's key meanwhile.)"""
        if self._beside is None:
            return False
        decided, found = self._beside
        decided.wait()
        return bool(found.get("runs"))

    def graph_around(self, lo: int | None, hi: int | None) -> TypeGraph:
        """A graph holding at least the DIEs between offsets ``lo`` and ``hi``
        (:data:`dwarfdiag.btf.consistency.GraphAround`): the graph, if here or asked
        for whole; else just those DIEs from the cache's entry (a check naming the
        DIEs behind an id drift needs a few, not a big binary's hundreds of
        thousands); else the graph."""
        from dwarfdiag.dwarf.loader import load_typegraph_between

        if "graph" not in self.__dict__ and hi is not None and self.target.dwarf is not None:
            part = load_typegraph_between(self.path, lo, hi)
            if part is not None:
                return part
        return self.graph

    @cached_property
    def _encoding(self) -> tuple[Encoded, Callable[[], bytes]]:
        from dwarfdiag.btf.encoded_file import encoded_binary

        def graph_to_encode() -> TypeGraph:
            # a graph read for the encoder is cached as background work of
            # encoded_binary (in the script, once the command has left)
            if "graph" not in self.__dict__:
                self.__dict__["graph"] = self._load_graph(store=False)  # as cached_property
            return self.graph

        return encoded_binary(self.path, graph_to_encode, self.target.types_from)

    @property
    def encoded(self) -> Encoded:
        """Our BTF with every type's provenance (from the cache when another command
        encoded this binary before: then no DWARF is read for it)."""
        return self._encoding[0]

    @property
    def encoded_raw(self) -> bytes:
        return self._encoding[1]()

    def capture(self, pahole: PaholeChoice, cached: bool = False) -> Capture:
        """pahole's pre-dedup BTF of this binary (captured once per pahole; with
        ``cached``, from the cache when this pahole captured these bytes before)."""
        self.target.require_dwarf("pahole reads DWARF")
        self.graph  # a binary without DWARF fails here with the clear message
        if pahole.argv not in self._captures:
            self._captures[pahole.argv] = self._capture(pahole, cached)
        return self._captures[pahole.argv]

    def _capture(self, pahole: PaholeChoice, cached: bool) -> Capture:
        from dwarfdiag.btf.capture import cached_capture

        return cached_capture(self.path, list(pahole.argv), pahole.label,
                              pahole.identity if cached else None)

    def capture_while_reading(self, pahole: PaholeChoice) -> Capture:
        """:meth:`capture` (from the cache when it can be), with pahole running on the
        other core while this process gets our encoding, and the DWARF when pahole
        surely runs (a thread waits for pahole; the reading keeps this one busy). An
        error reading the DWARF wins over pahole's, as in :meth:`capture`."""
        if pahole.argv in self._captures:
            return self.capture(pahole)
        self.target.require_dwarf("pahole reads DWARF")
        box: dict[str, object] = {}
        decided = threading.Event()

        def run() -> None:
            try:
                # a DWARF read meanwhile stays on this core when pahole runs on the
                # other: three processes on two cores were slower (bench/bench_speed.py)
                box["runs"] = not _captured_before(pahole, self.path)
                decided.set()
                box["capture"] = self._capture(pahole, cached=True)
            except BaseException as e:  # noqa: BLE001 - handed to the caller below
                box["error"] = e
            finally:
                decided.set()

        pahole_thread = threading.Thread(target=run, name="pahole", daemon=True)
        pahole_thread.start()
        self._beside = (decided, box)
        try:
            self.encoded
            if pahole.identity is None:  # pahole surely runs: the graph meanwhile
                self.graph  # (read already, or from the cache)
        finally:
            self._beside = None
            pahole_thread.join()
        if "error" in box:
            raise box["error"]  # type: ignore[misc]
        self._captures[pahole.argv] = box["capture"]  # type: ignore[assignment]
        return self._captures[pahole.argv]

    def check(self, pahole: PaholeChoice) -> CheckReport:
        """pahole's BTF against the DWARF, type by type and reference by reference."""
        from dwarfdiag.btf.consistency import check

        cap = self.capture_while_reading(pahole)

        def pahole_btf():
            # each record decoded when the compare reads it; libbpf's per-type checks
            # on the second core, beside the compare
            return parse_btf(cap.btf, sanity=False, on_demand=True)

        # the DIEs only where pahole's BTF is inconsistent: a warm check of a faithful
        # pahole reads no DWARF
        return check(self.graph_around, self.encoded, pahole_btf, pahole.label, cap.method,
                     cap.dedup_ret)

    def check_btf(self, raw: bytes, label: str) -> CheckReport:
        """An already captured pre-dedup BTF (from the file ``label``) against the DWARF."""
        from dwarfdiag.btf.consistency import check

        try:
            btf = parse_btf(raw)
        except BtfFormatError as e:
            raise e.in_file(label) from None
        return check(self.graph, self.encoded, btf, label, "file", None)

    def dedup_input(self, pahole: PaholeChoice | None = None) -> DedupInput:
        """Our encoding (every type with its DIE), or pahole's BTF with provenance
        by alignment with ours and the check that comes with it."""
        if pahole is None:
            return DedupInput(self.encoded.btf, self.encoded_raw, ENCODER_SOURCE,
                              self.encoded.provenance, binary=str(self.target.binary))
        from dwarfdiag.btf.consistency import check

        cap = self.capture_while_reading(pahole)
        theirs = parse_btf(cap.btf)
        report = check(self.graph_around, self.encoded, theirs, pahole.label, cap.method,
                       cap.dedup_ret)
        provenance = {p: self.encoded.provenance[o] for p, o in report.mapping.items()
                      if o in self.encoded.provenance}
        return DedupInput(theirs, cap.btf, f"{pahole.label}, captured before btf__dedup",
                          provenance, report, binary=str(self.target.binary))


def _captured_before(pahole: PaholeChoice, path: Path) -> bool:
    """Is pahole's capture of ``path`` in the cache (so pahole will not run)?"""
    if pahole.identity is None:
        return False
    from dwarfdiag.btf.capture import capture_key
    from dwarfdiag.cache import has_derived

    return has_derived("capture", capture_key(path, pahole.identity))


def load_dedup_input(given: Target | Path, base: Path | None = None,
                     pahole: str | None = None, toolchain: str | None = None,
                     progress: Progress | None = None) -> DedupInput:
    """What ``dedup explain|trace`` and ``bisect`` take: a target (our encoding of its
    DWARF, or pahole's BTF captured with ``--pahole``/``--toolchain``) or a BTF file."""
    if isinstance(given, Target):
        if base is not None:
            raise UnsupportedError("--base applies to raw split BTF input, not to a binary")
        choice = PaholeChoice.of(pahole, toolchain) if (pahole or toolchain) else None
        return BinaryAnalysis(given, progress, function_bodies=False).dedup_input(choice)
    if pahole or toolchain:
        from dwarfdiag.errors import BadInputError

        PaholeChoice.of(pahole, toolchain)  # an unknown toolchain is reported as such first
        raise BadInputError(f"{given}: --pahole/--toolchain capture pahole's BTF of a binary "
                            f"with DWARF; this input is BTF already")
    return from_btf_file(Path(given), base)
