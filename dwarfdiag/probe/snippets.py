"""Probe programs that work as printed: a bpftrace script, a libbpf program and its loader.

Everything is generated from the probe report (where each argument is at
entry) and the kernel profile of the binary's final BTF (C names, pointer-sized
func values; :mod:`dwarfdiag.usable`):

* ``types.h``: the C header of the struct types the arguments point to, their
  layout asserted against the DWARF;
* ``probe.bt``: a bpftrace script that ``#include``s it, attaches to the
  absolute path of the binary and prints every register of every argument
  (a string's pointer and length, a slice's pointer, length and capacity, an
  interface's type and data words) and the fields of the structs they point to;
* ``probe.bpf.c``: the same as a libbpf program: ``vmlinux.h``,
  ``bpf_helpers.h``, a GPL license, and a plain ``SEC("uprobe")`` function of
  ``struct pt_regs *ctx`` (libbpf 1.1's headers have no ``BPF_UPROBE``), which
  formats each line with ``BPF_SNPRINTF`` into a BPF ring buffer (no tracefs
  needed, unlike ``bpf_printk``'s trace pipe, which many hosts leave unmounted);
* ``loader.c``: a small libbpf program that loads an object file, attaches its
  uprobe at each file offset given (the function's entry, or its return sites)
  and prints the lines from the ring buffer;
* ``README``: how to build and run them (``vmlinux.h`` comes from ``bpftool``).

On gc, uretprobes crash the program (goroutine stacks move under the
kernel's return trampoline); the return instructions of the function are
listed instead, to probe one by one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dwarfdiag.btf.model import Btf, BtfKind
from dwarfdiag.usable.header import anonymous_name, underlying_type

K = BtfKind
BPF_REGS = {"rax": "ax", "rbx": "bx", "rcx": "cx", "rdx": "dx", "rdi": "di", "rsi": "si",
            "r8": "r8", "r9": "r9", "r10": "r10", "r11": "r11"}
PARTS = {"string": ("ptr", "len"), "slice": ("ptr", "len", "cap"),
         "interface": ("type", "data")}
MAX_DEPTH = 2  # nested struct fields printed: a.Inner.A
MAX_FIELDS = 24
STRING_BYTES = 64


@dataclass
class Field:
    path: str  # a.Inner.A
    expr: str  # C member path under the struct: Inner.A
    how: str  # "int", "uint", "string", "slice", "pointer"
    size: int = 8
    parts: tuple[str, ...] = ()  # a string's or slice's member names: gc's str, len;
    # gccgo's __data, __length (and the same for a slice's pointer, length, capacity)


@dataclass
class Snippets:
    files: dict[str, str] = field(default_factory=dict)  # name -> text
    return_sites: list[tuple[int, int]] = field(default_factory=list)  # (address, file offset)


def struct_fields(btf: Btf, provenance: dict[int, dict], struct_id: int, prefix: str,
                  expr: str = "", depth: int = 0) -> list[Field]:
    """The printable fields of a struct: integers, Go strings, slices, pointers, and the
    fields of nested structs (to MAX_DEPTH)."""
    out: list[Field] = []
    t = btf.type_by_id(struct_id)
    for m in t.members:
        name = btf.str_at(m.name_off)
        if not name or m.bitfield_size(t.kflag):
            continue
        path, sub = f"{prefix}.{name}", f"{expr}.{name}" if expr else name
        target = underlying_type(btf, m.type)
        mt = btf.type_by_id(target) if target else None
        if mt is None:
            continue
        go_name = _go_name(btf, provenance, m.type)
        if mt.kind == K.INT and mt.size in (1, 2, 4, 8):
            out.append(Field(path, sub, "int" if mt.int_encoding & 1 else "uint", mt.size))
        elif mt.kind == K.ENUM:
            out.append(Field(path, sub, "int", mt.size))
        elif mt.kind == K.PTR:
            out.append(Field(path, sub, "pointer"))
        elif mt.kind == K.STRUCT and _is_string(go_name, _member_names(btf, target)):
            out.append(Field(path, sub, "string", parts=_member_names(btf, target)))
        elif mt.kind == K.STRUCT and _is_slice(go_name, _member_names(btf, target)):
            out.append(Field(path, sub, "slice", parts=_member_names(btf, target)))
        elif mt.kind == K.STRUCT and depth < MAX_DEPTH:
            out += struct_fields(btf, provenance, target, path, sub, depth + 1)
    return out[:MAX_FIELDS]


def _member_names(btf: Btf, struct_id: int) -> tuple[str, ...]:
    t = btf.type_by_id(struct_id)
    return tuple(btf.str_at(m.name_off) for m in t.members)


# gccgo's runtime layouts (libgo/runtime/runtime.h: String, Slice), which its DWARF
# describes as anonymous structs; gc names its own "string" and "[]T".
GCCGO_STRING = ("__data", "__length")
GCCGO_SLICE = ("__values", "__count", "__capacity")


def _is_string(go_name: str, members: tuple[str, ...]) -> bool:
    return (go_name == "string" and len(members) == 2) or members == GCCGO_STRING


def _is_slice(go_name: str, members: tuple[str, ...]) -> bool:
    return (go_name.startswith("[]") and len(members) == 3) or members == GCCGO_SLICE


def _go_name(btf: Btf, provenance: dict[int, dict], type_id: int) -> str:
    """The Go name along a typedef chain: gc names the string struct itself
    "string", gccgo names a typedef of an anonymous struct."""
    for _ in range(32):
        name = provenance.get(type_id, {}).get("go_name")
        t = btf.type_by_id(type_id) if type_id else None
        if name or t is None or t.kind not in (K.TYPEDEF, K.CONST, K.VOLATILE):
            return name or ""
        type_id = t.type
    return ""


def struct_spelling(btf: Btf, struct_id: int) -> str:
    """``struct NAME`` as types.h declares it (bpftrace 0.17 casts to a struct tag,
    never to a typedef)."""
    return f"struct {btf.name_of(btf.type_by_id(struct_id)) or anonymous_name(struct_id)}"


def generate(report, binary: Path, header_text: str, btf: Btf, provenance: dict[int, dict],
             pointees: dict[str, int]) -> Snippets:
    """The files (see the module docstring). ``pointees`` maps a parameter name to the
    BTF id (typedef or struct) of what it points to."""
    binary = Path(binary).resolve()
    sites = list(report.return_sites)
    prints_bt, prints_c, declares = [], [], []
    for p in report.params:
        regs = [BPF_REGS.get(r) for r in p.registers]
        kind = p.go_kind if p.go_kind in PARTS else None
        if p.registers and all(regs):
            if kind and len(regs) == len(PARTS[kind]):
                parts = PARTS[kind]
            else:
                parts = [f"r{i}" for i in range(len(regs))] if len(regs) > 1 else [""]
            for part, reg in zip(parts, regs):
                label = f"{p.name}.{part}" if part else p.name
                prints_bt.append(f'\tprintf("{label}=%ld\\n", (int64)reg("{reg}"));')
                prints_c.append(f'\tEMIT("{label}=%ld", (long)ctx->{reg});')
            if kind == "string":
                prints_bt.append(f'\tprintf("{p.name}=%s\\n", str(reg("{regs[0]}"), '
                                 f'reg("{regs[1]}")));')
        elif p.stack_offset is not None:
            prints_bt.append(f'\tprintf("{p.name}=%ld\\n", *(int64 *)(reg("sp") + '
                             f'{p.stack_offset}));')
            var = _c_var(p.name)
            declares.append(f"\tlong {var} = 0;")
            prints_c.append(f"\tbpf_probe_read_user(&{var}, sizeof({var}), "
                            f"(void *)(ctx->sp + {p.stack_offset}));")
            prints_c.append(f'\tEMIT("{p.name}=%ld", {var});')
        root = pointees.get(p.name)
        if root is None or len(regs) != 1 or not regs[0]:
            continue
        struct_id = underlying_type(btf, root)
        spelled = struct_spelling(btf, struct_id)
        var = _c_var(p.name)
        prints_bt.append(f'\t${var} = ({spelled} *)reg("{regs[0]}");')
        declares.append(f"\t{spelled} {var}_v = {{}};")
        prints_c.append(f"\tif (bpf_probe_read_user(&{var}_v, sizeof({var}_v), "
                        f"(void *)ctx->{regs[0]}) == 0) {{")
        for f in struct_fields(btf, provenance, struct_id, p.name):
            bt_expr, c_expr = f"${var}->{f.expr}", f"{var}_v.{f.expr}"
            prints_bt.extend(_bt_field(f, bt_expr))
            prints_c.extend("\t" + line for line in _c_field(f, c_expr))
        prints_c.append("\t}")
    name = _c_var(report.symbol)
    bt = [f"// bpftrace script for {report.symbol} in {binary} ({report.compiler}), written "
          f"by dwarfdiag", "#include \"types.h\"", "",
          *([] if report.named_in_binary else [
              f"// {binary.name} has no symbols: bpftrace attaches at the function's file "
              f"offset, with --unsafe"]),
          report.bpftrace_attach, "{", *prints_bt, "}", ""]
    c = ["/* libbpf program for " + report.symbol + f" in {binary} ({report.compiler}), "
         "written by dwarfdiag.",
         " * Build: clang -target bpf -O2 -g -I. -c probe.bpf.c -o probe.bpf.o",
         " * (vmlinux.h: bpftool btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h) */",
         '#include "vmlinux.h"', "#include <bpf/bpf_helpers.h>", '#include "types.h"', "",
         'char LICENSE[] SEC("license") = "GPL";', "", *C_PRELUDE, "",
         "/* a plain SEC(\"uprobe\") function of struct pt_regs: libbpf 1.1's headers have no "
         "BPF_UPROBE */",
         'SEC("uprobe")', f"int probe_{name}(struct pt_regs *ctx)", "{",
         "\tchar line[LINE_BYTES];", *declares, *prints_c, "\treturn 0;", "}", ""]
    offsets = " ".join(f"{off:#x}" for off in [report.file_offset])
    readme = [
        f"Probes for {report.symbol} in {binary}, written by dwarfdiag.", "",
        f"Entry: address {report.address:#x}, file offset {report.file_offset:#x}.",
        *(["Return sites (gc: probe these instead of a uretprobe, which crashes gc "
           "programs):"] + [f"  address {a:#x}, file offset {o:#x}" for a, o in sites]
          if sites else []), "",
        "bpftrace (as root):", f"  {report.bpftrace_command} probe.bt", "",
        "libbpf (as root):",
        "  bpftool btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h",
        "  clang -target bpf -O2 -g -I. -c probe.bpf.c -o probe.bpf.o",
        "  cc -o loader loader.c -lbpf",
        f"  ./loader probe.bpf.o {binary} {offsets} [SECONDS=N]", ""]
    return Snippets({"types.h": header_text, "probe.bt": "\n".join(bt),
                     "probe.bpf.c": "\n".join(c), "loader.c": LOADER,
                     "README": "\n".join(readme)}, sites)


def _c_var(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name) or "arg"


def _bt_field(f: Field, expr: str) -> list[str]:
    if f.how in ("int", "uint"):
        return [f'\tprintf("{f.path}=%lld\\n", (int64){expr});']
    if f.how == "pointer":
        return [f'\tprintf("{f.path}=%lld\\n", (int64){expr});']
    data, length = f.parts[0], f.parts[1]
    if f.how == "string":
        return [f'\tprintf("{f.path}=%s\\n", str({expr}.{data}, {expr}.{length}));']
    return [f'\tprintf("{f.path}.len=%lld\\n", (int64){expr}.{length});',
            f'\tprintf("{f.path}.cap=%lld\\n", (int64){expr}.{f.parts[2]});']


def _c_field(f: Field, expr: str) -> list[str]:
    if f.how in ("int", "uint", "pointer"):
        return [f'\tEMIT("{f.path}=%lld", (long long){expr});']
    data, length = f.parts[0], f.parts[1]
    if f.how == "string":
        buf = "s_" + _c_var(f.path)
        return [f"\t{{ char {buf}[{STRING_BYTES}] = {{}}; long n = {expr}.{length};",
                f"\t  if (n > {STRING_BYTES - 1}) n = {STRING_BYTES - 1}; if (n < 0) n = 0;",
                f"\t  bpf_probe_read_user({buf}, n & {STRING_BYTES - 1}, "
                f"(void *){expr}.{data});",
                f'\t  EMIT("{f.path}=%s", {buf}); }}']
    return [f'\tEMIT("{f.path}.len=%lld", (long long){expr}.{length});',
            f'\tEMIT("{f.path}.cap=%lld", (long long){expr}.{f.parts[2]});']


# One ring buffer of fixed-size text lines: BPF_SNPRINTF (bpf_snprintf, Linux 5.13)
# formats into the stack buffer ``line``, bpf_ringbuf_output (Linux 5.8) copies it out.
C_PRELUDE = [
    "#define LINE_BYTES 128",
    "struct {",
    "\t__uint(type, BPF_MAP_TYPE_RINGBUF);",
    "\t__uint(max_entries, 1 << 16);",
    "} events SEC(\".maps\");",
    "",
    "#define EMIT(fmt, args...) do { \\",
    "\tBPF_SNPRINTF(line, sizeof(line), fmt, ##args); \\",
    "\tbpf_ringbuf_output(&events, line, sizeof(line), 0); \\",
    "} while (0)"]


LOADER = r"""/* A minimal libbpf loader, written by dwarfdiag: load OBJ, attach its uprobe at
 * each FILE OFFSET of BINARY, and print the lines its "events" ring buffer carries
 * for SECONDS (default: until interrupted). Works with libbpf 1.1 and later.
 * Build: cc -o loader loader.c -lbpf */
#include <bpf/libbpf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static int on_line(void *ctx, void *data, size_t size)
{
	(void)ctx;
	printf("%.*s\n", (int)strnlen(data, size), (const char *)data);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s OBJ BINARY OFFSET [OFFSET...] [SECONDS=N]\n", argv[0]);
		return 2;
	}
	int seconds = 0, last = argc;
	if (strncmp(argv[argc - 1], "SECONDS=", 8) == 0) {
		seconds = atoi(argv[argc - 1] + 8);
		last = argc - 1;
	}
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || libbpf_get_error(obj)) {
		fprintf(stderr, "cannot open %s\n", argv[1]);
		return 1;
	}
	if (bpf_object__load(obj)) {
		fprintf(stderr, "cannot load %s (run as root; the kernel's reason is above)\n", argv[1]);
		return 1;
	}
	struct bpf_program *prog = bpf_object__next_program(obj, NULL);
	for (int i = 3; i < last; i++) {
		size_t offset = strtoull(argv[i], NULL, 0);
		struct bpf_link *link = bpf_program__attach_uprobe(prog, false, -1, argv[2], offset);
		if (!link || libbpf_get_error(link)) {
			fprintf(stderr, "cannot attach to %s at %#zx\n", argv[2], offset);
			return 1;
		}
	}
	struct bpf_map *events = bpf_object__find_map_by_name(obj, "events");
	struct ring_buffer *lines = events ?
		ring_buffer__new(bpf_map__fd(events), on_line, NULL, NULL) : NULL;
	if (!lines || libbpf_get_error(lines)) {
		fprintf(stderr, "cannot read the events ring buffer of %s\n", argv[1]);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGALRM, on_signal);
	if (seconds)
		alarm(seconds);
	fprintf(stderr, "attached\n");
	while (!stop) {
		int err = ring_buffer__poll(lines, 100);
		if (err < 0 && err != -EINTR)
			break;
	}
	ring_buffer__consume(lines);
	ring_buffer__free(lines);
	bpf_object__close(obj);
	return 0;
}
"""
