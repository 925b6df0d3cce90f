"""``dwarfdiag btf ...``: dump, info, encode, compare and capture BTF."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from dwarfdiag.cli.apps import btf_app, cache_writes_at_exit, keep_until_exit
from dwarfdiag.cli.options import (DebugFileOpt, DebugRootOpt, JsonOpt, OutputOpt, PaholeOpt,
                                   TARGET_HELP, TargetArg, ToolchainOpt, TypesFromOpt,
                                   target_of, target_or_btf)
from dwarfdiag.cli.output import echo, emit, progress, write_output


class DumpFormat(str, Enum):
    raw = "raw"
    json = "json"


@btf_app.command("dump")
def btf_dump(
    file: Annotated[Path, typer.Argument(help="Raw BTF file, or an ELF with a .BTF section.")],
    base: Annotated[Optional[Path], typer.Option(help="Base BTF: FILE is split BTF on top of it.")] = None,
    format: Annotated[DumpFormat, typer.Option("--format", "-f",
                      help="raw: as 'bpftool btf dump file'; json: as 'bpftool -j'.")] = DumpFormat.raw,
    as_json: JsonOpt = False,
    type_id: Annotated[Optional[int], typer.Option("--id", min=1, help="Dump only this type id.")] = None,
    root: Annotated[Optional[str], typer.Option(
        help="Dump the types with this name and everything they reference.")] = None,
    output: OutputOpt = None,
) -> None:
    """Dump BTF types exactly as bpftool does (--json: as 'bpftool -j')."""
    from dwarfdiag.btf.dump import dump_json, dump_text, select_ids
    from dwarfdiag.btf.files import load_btf

    btf = load_btf(file, base)
    ids = select_ids(btf, type_id=type_id, root=root)
    dumper = dump_json if as_json or format is DumpFormat.json else dump_text
    chunks = dumper(btf, ids)
    if output is not None:
        write_output(output, "".join(chunks), [file])
        return
    import sys

    from dwarfdiag.cli.output import json_printable, printable

    for chunk in chunks:  # bpftool's output; control characters in names escaped
        if dumper is dump_json:
            sys.stdout.write(json_printable(chunk))
        else:
            sys.stdout.write("\n".join(printable(line) for line in chunk.split("\n")))
    sys.stdout.flush()


@btf_app.command("info")
def btf_info(
    file: Annotated[Path, typer.Argument(help="Raw BTF file, or an ELF with a .BTF section.")],
    base: Annotated[Optional[Path], typer.Option(help="Base BTF for split BTF.")] = None,
    as_json: JsonOpt = False,
    output: OutputOpt = None,
) -> None:
    """Summarise a BTF file: header, byte order, type counts per kind."""
    from dwarfdiag.btf.files import load_btf
    from dwarfdiag.btf.summary import summarize

    info = summarize(load_btf(file, base))

    def text():
        yield from (f"{k}: {v}" for k, v in info.items() if k != "kinds")
        yield from (f"  {kind:<11} {count}" for kind, count in info["kinds"].items())

    emit(info, as_json, output, text, inputs=[file], kind="btf-info")


@btf_app.command("encode")
def btf_encode(
    target: TargetArg,
    output: Annotated[Path, typer.Option("-o", "--output", help="Write the raw BTF here.")],
    no_funcs: Annotated[bool, typer.Option("--no-funcs", help="Types only: no FUNC/FUNC_PROTO for subprograms.")] = False,
    provenance: Annotated[Optional[Path], typer.Option(
        help="Write every BTF id's DIE offset, Go name, package, file and line here (JSON).")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Ignore and do not fill the cache.")] = False,
    debug_file: DebugFileOpt = None,
    debug_root: DebugRootOpt = None,
    types_from: TypesFromOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Encode DWARF (or a stripped Go binary's runtime type descriptors) as pre-dedup
    BTF, as pahole 1.32 builds it before btf__dedup."""
    cache_writes_at_exit()
    from dwarfdiag.btf.encoded_file import encode_file
    from dwarfdiag.cli.output import check_outputs

    resolved = target_of(target, debug_file, debug_root, types_from=types_from)
    inputs = resolved.files
    check_outputs({"-o": output, "--provenance": provenance}, inputs)
    runtime = (lambda: resolved.runtime.typegraph(methods=False)) \
        if resolved.dwarf is None else None
    with progress(f"encoding {resolved.binary}") as bar:
        result = encode_file(resolved.types_file, funcs=not no_funcs, use_cache=not no_cache,
                             progress=bar.advance, runtime_graph=runtime)
    write_output(output, result.raw, inputs)
    if provenance:
        write_output(provenance, result.provenance_json(str(resolved.binary)), inputs)
    summary = {"output": str(output), "types": result.types, "cached": result.cached,
               "not_encoded": dict(sorted(result.warnings.items()))}
    for tag, count in sorted(result.warnings.items()):
        echo(f"warning: {tag} not encoded ({count} DIEs)", err=True)
    emit(summary, as_json, text=lambda: [
        f"{output}: {result.types} types (pre-dedup){' [cached]' if result.cached else ''}"],
         kind="btf-encode")


@btf_app.command("compare")
def btf_compare(
    a: Annotated[Path, typer.Argument(help="First BTF (raw, or an ELF with .BTF).")],
    b: Annotated[Path, typer.Argument(help="Second BTF.")],
    as_json: JsonOpt = False,
    output: OutputOpt = None,
    limit: Annotated[int, typer.Option(min=0, help="Show at most this many differences per side.")] = 20,
) -> None:
    """Compare the named types of two BTFs: kind, name, size, vlen, members and offsets.

    Exit code 0 when equal, 1 when they differ (as cmp(1) does).
    """
    from dwarfdiag.btf.compare import compare
    from dwarfdiag.btf.files import load_btf

    result = compare(load_btf(a), load_btf(b))
    doc = result.as_dict(limit)

    def text():
        yield (f"named types: {result.a_named} in {a}, {result.b_named} in {b}; "
               + ("equal" if result.equal else
                  f"{len(result.only_a)} only in A, {len(result.only_b)} only in B"))
        for side, examples in (("A", doc["only_in_a_examples"]), ("B", doc["only_in_b_examples"])):
            for e in examples:
                yield f"  only in {side}: {e['kind']} '{e['name']}' size={e['size']} vlen={e['vlen']}"

    emit(doc, as_json, output, text, inputs=[a, b], kind="btf-compare")
    if not result.equal:
        raise typer.Exit(1)


@btf_app.command("capture")
def btf_capture(
    target: TargetArg,
    output: Annotated[Path, typer.Option("-o", "--output", help="Write pahole's pre-dedup BTF here.")],
    pahole: PaholeOpt = None,
    toolchain: ToolchainOpt = None,
    debug_file: DebugFileOpt = None,
    debug_root: DebugRootOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Capture the BTF pahole hands to btf__dedup (even when dedup then fails).
    Exit 1 when that dedup failed."""
    from dwarfdiag.analysis import BinaryAnalysis, PaholeChoice
    from dwarfdiag.cli.output import check_output

    resolved = target_of(target, debug_file, debug_root)
    inputs = resolved.files
    check_output(output, inputs)
    choice = PaholeChoice.of(pahole, toolchain)
    with progress(f"running {choice.label} on {resolved.types_file}"):
        cap = BinaryAnalysis(resolved).capture(choice)
    write_output(output, cap.btf, inputs)
    verdict = "ok" if cap.dedup_ret == 0 else f"failed ({cap.dedup_ret})"
    emit({**cap.as_dict(), "output": str(output)}, as_json, text=lambda: [
        f"{output}: {len(cap.btf)} bytes captured from {choice.label} by {cap.method}; "
        f"its btf__dedup {verdict}"], kind="btf-capture")
    if cap.dedup_ret:
        raise typer.Exit(1)


@btf_app.command("final")
def btf_final(
    input: Annotated[str, typer.Argument(
        help=TARGET_HELP + " Or a BTF file (only with --for kernel).", metavar="TARGET")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Write the final raw BTF here.")],
    profile: Annotated[str, typer.Option(
        "--for", help="pahole: what pahole 1.32 + libbpf 1.7 write; kernel: C-legal names, "
                      "pointer-sized func values, no reference-only loop (what the kernel, "
                      "bpftool, C and libbpf before 1.7 accept).")] = "pahole",
    compat: Annotated[Optional[str], typer.Option(
        help="With --for kernel: the libbpf (1.1, 1.5, 1.6) to stay compatible with; the "
             "kernel profile already is, so this only checks the version.")] = None,
    libbpf: Annotated[str, typer.Option(
        "--libbpf", help="The libbpf whose dedup to replay (default 1.7).")] = "1.7",
    names: Annotated[Optional[Path], typer.Option(
        help="Write the C name -> Go name map here (JSON; --for kernel).")] = None,
    elf: Annotated[Optional[Path], typer.Option(
        "--elf", help="Also write a copy of the binary with this BTF as its .BTF section, "
                      "as 'pahole -J' does (the binary itself is never changed).")] = None,
    debug_file: DebugFileOpt = None,
    debug_root: DebugRootOpt = None,
    types_from: TypesFromOpt = None,
    no_load: Annotated[bool, typer.Option(
        "--no-load", help="With --for kernel: do not check that the running kernel accepts "
                          "the BTF.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Write deduplicated BTF that works: pahole 1.32 + libbpf 1.7's output on any machine,
    or (--for kernel) BTF the kernel, C, bpftool and old libbpf accept. Exit 1 when the
    running kernel refuses it."""
    cache_writes_at_exit()
    from dwarfdiag.btf.raw import write_btf
    from dwarfdiag.cli.output import check_outputs
    from dwarfdiag.findings.schema import SCHEMA_VERSION, to_json
    from dwarfdiag.target import Target
    from dwarfdiag.usable.make import make_btf

    given = target_or_btf(input, debug_file, debug_root, types_from=types_from)
    inputs = given.files if isinstance(given, Target) else [given]
    check_outputs({"-o": output, "--names": names, "--elf": elf}, inputs)
    if elf and not isinstance(given, Target):
        from dwarfdiag.errors import BadInputError

        raise BadInputError(f"--elf copies a binary; {input} is BTF")
    with progress(f"final BTF of {input}") as bar:
        made = make_btf(given, profile, compat, libbpf, bar.stage)
    raw = write_btf(made.btf)
    write_output(output, raw, inputs)
    if names and made.names:
        doc = {"kind": "btf-names", "schema": SCHEMA_VERSION, "btf": str(output),
               "names": dict(sorted(made.names.items())), "changes": made.changes}
        write_output(names, to_json(doc), inputs)
    if elf:
        from dwarfdiag.usable.final import elf_with_btf

        elf_with_btf(given.binary, raw, elf)
    kernel = None
    if profile == "kernel" and not no_load:
        kernel = _kernel_verdict(raw)
    summary = {"output": str(output), "types": len(made.btf.types), "profile": profile,
               "compat": compat, "libbpf": libbpf, "changes": made.changes,
               "functions_left_out": [{"function": f, "why": w} for f, w in made.dropped],
               "kernel": kernel, "types_from": made.types_from}

    def text():
        yield f"{output}: {len(made.btf.types)} types ({profile} profile, libbpf {libbpf} dedup)"
        if made.types_from == "runtime":
            yield (f"  all {len(made.btf.types)} from {given.binary.name}'s runtime type "
                   f"descriptors, no DWARF read: a type the linker kept no descriptor for is "
                   f"not here, and a function only where a method table kept its signature; "
                   f"DWARF (the unstripped build, or --debug-file) has them all")
        for change in made.changes:
            yield f"  {change}"
        if made.dropped:
            yield f"  {len(made.dropped)} functions left out as pahole 1.32 does, e.g. " \
                  f"{made.dropped[0][0]}: {made.dropped[0][1]}"
        if kernel is not None:
            yield f"  running kernel: {kernel}"

    emit(summary, as_json, text=text, kind="btf-final")
    keep_until_exit(made)
    if kernel is not None and kernel.startswith("refused"):
        raise typer.Exit(1)


def _kernel_verdict(raw: bytes) -> str:
    """Does the running kernel accept this BTF (BPF_BTF_LOAD)? In words."""
    import errno as errno_mod

    from dwarfdiag.btf.libbpf import system_oracle
    from dwarfdiag.errors import ToolchainError

    try:
        result = system_oracle().load_into_kernel(raw)
    except ToolchainError as e:
        return f"not checked ({e})"
    if result.ok:
        return "accepts it (BPF_BTF_LOAD)"
    if result.error in (-errno_mod.EPERM, -errno_mod.EACCES):
        return f"not checked: the kernel refuses bpf() to this user ({result.error_name})"
    return f"refused it: {result.error_name}: {'; '.join(result.log[-2:])}"


@btf_app.command("header")
def btf_header(
    input: Annotated[str, typer.Argument(help=TARGET_HELP + " Or a BTF file.",
                                         metavar="TARGET")],
    output: OutputOpt = None,
    types: Annotated[Optional[list[str]], typer.Option(
        "--type", help="A Go type (main.Account) or its C name; repeat for several. "
                       "Default: every named type.")] = None,
    debug_file: DebugFileOpt = None,
    debug_root: DebugRootOpt = None,
    types_from: TypesFromOpt = None,
) -> None:
    """A C header of Go types and what they hold, for clang -target bpf, gcc and bpftrace;
    each struct's size and member offsets asserted against the DWARF."""
    cache_writes_at_exit()
    import sys

    from dwarfdiag.cli.output import check_output
    from dwarfdiag.target import Target
    from dwarfdiag.usable.make import make_header

    given = target_or_btf(input, debug_file, debug_root, types_from=types_from)
    inputs = given.files if isinstance(given, Target) else [given]
    if output:
        check_output(output, inputs)
    with progress(f"header of {input}") as bar:
        header = make_header(given, types, bar.stage)
    if output:
        write_output(output, header.text, inputs)
        echo(f"{output}: {header.types} types defined, {header.declared} declared, "
             f"{header.asserts} layout assertions", err=True)
    else:
        sys.stdout.write(header.text)
