"""Build a real Go program from its module, as a user's workstation would: ``PKG@VERSION``.

The build runs in a throw-away wrapper module (``go get PKG@VERSION``, then
``go build``) with the go command of the chosen compiler and the user's own
Go environment: ``GOPROXY``, ``GOFLAGS``, ``GOPRIVATE``, ``GONOSUMDB``,
``GOTOOLCHAIN`` and the module cache are theirs. For Kubernetes, whose go.mod
points the staging modules (``k8s.io/api``, ``k8s.io/client-go``, ...) at
``./staging/src/...`` directories that a module download lacks, the wrapper
replaces each with its matching ``v0.Y.Z`` release.

Builds land in ``<cache>/targets/``, keyed by package, version, compiler,
flags and tags, so a second run builds nothing (and needs no network:
``GOPROXY=off`` works for anything built before). A build that fails ends in
one line carrying the go command's own error.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from dwarfdiag.cache import atomic_write, cache_dir
from dwarfdiag.errors import ToolchainError
from dwarfdiag.findings.matrix import Build
from dwarfdiag.findings.schema import read_record, to_json
from dwarfdiag.toolchains.go import Compiler
from dwarfdiag.toolchains.run import run_tool

BUILD_TIMEOUT = 3600  # kubectl at -N -l on two cores, downloads included
# a module path and a version: host.tld/path/cmd/x@v1.2.3 (pseudo-versions too)
MODULE_TARGET = re.compile(r"^(?P<package>[a-z0-9.-]+\.[a-z]{2,}(/[^@\s]+)?)@(?P<version>v[^\s@]+)$")


@dataclass(frozen=True)
class ModuleTarget:
    """What to build: a main package at a version, and how."""

    name: str  # a short label: the last path element, or the catalogue's name
    package: str
    version: str
    tags: tuple[str, ...] = ()
    replace_staging: bool = False
    module: str = ""  # the module whose go.mod to read for staging replaces

    @property
    def spec(self) -> str:
        return f"{self.package}@{self.version}"


def parse(text: str) -> ModuleTarget | None:
    """``k8s.io/kubernetes/cmd/kubeadm@v1.37.2`` -> a target; None if it is not one."""
    m = MODULE_TARGET.match(text.strip())
    if not m:
        return None
    package = m["package"].rstrip("/")
    return ModuleTarget(command_name(package), package, m["version"])


def command_name(package: str) -> str:
    """The name ``go build`` gives the package's binary: its last element, or the one
    before a major-version suffix (``go.etcd.io/etcd/etcdctl/v3`` -> ``etcdctl``)."""
    parts = package.split("/")
    if len(parts) > 1 and re.fullmatch(r"v[0-9]+", parts[-1]):
        return parts[-2]
    return parts[-1]


def profile_flags(compiler: Compiler, profile: str) -> tuple[str, ...]:
    """``debug`` is upstream's debug build (Kubernetes' DBG=1: -N -l, not stripped);
    ``opt`` the compiler's defaults, also not stripped; ``stripped`` the defaults and
    ``-ldflags=-s -w``, as release builds ship (no DWARF: the runtime's metadata)."""
    from dwarfdiag.corpus.build import profile_flags as corpus_flags

    return corpus_flags(compiler, profile)


RECORD_VERSION = 2  # 2: the record lists each package's directory (Build.packages)


def _key(target: ModuleTarget, compiler: Compiler, flags: tuple[str, ...]) -> str:
    basis = [target.package, target.version, sorted(target.tags), target.replace_staging,
             compiler.label, flags, RECORD_VERSION]
    return hashlib.sha256(json.dumps(basis).encode()).hexdigest()[:16]


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def _go_env(compiler: Compiler) -> dict[str, str]:
    env = dict(os.environ)  # the user's GOPROXY, GOFLAGS, GOPRIVATE, ... as they are
    env.setdefault("HOME", "/root")
    if compiler.goroot:
        env["GOROOT"] = compiler.goroot
    env.update(compiler.env)
    return env


def _go_error(text: str) -> str:
    """The line of a go command's output that says what went wrong."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    wanted = [ln for ln in lines if not ln.startswith(("go: downloading", "go: finding",
                                                       "go: extracting", "#"))]
    for ln in wanted:
        if "error" in ln.lower() or ln.startswith("go: ") or ": " in ln:
            return ln[:400]
    return (wanted or lines or ["no output"])[-1][:400]


def _staging_replaces(target: ModuleTarget, go: str, env: dict, work: Path,
                      say: Callable[[str], None]) -> list[str]:
    """``replace k8s.io/api => k8s.io/api v0.37.2`` lines for a Kubernetes-style module."""
    module = target.module or target.package
    say(f"reading the go.mod of {module}@{target.version}")
    proc = run_tool([go, "mod", "download", "-json", f"{module}@{target.version}"],
                    BUILD_TIMEOUT, cwd=work, env=env)
    try:
        info = json.loads(proc.stdout)
    except ValueError:
        info = {}
    if proc.returncode != 0 or "GoMod" not in info:
        said = info.get("Error") or _go_error(proc.stderr)
        raise ToolchainError(f"{module}@{target.version}: cannot download ({said})")
    major_minor = target.version.lstrip("v").split(".", 1)[1]  # 1.37.2 -> 37.2
    out = []
    for line in Path(info["GoMod"]).read_text().splitlines():
        m = re.match(r"^\s*(\S+)\s+=>\s+\./staging/", line)
        if m:
            out.append(f"replace {m[1]} => {m[1]} v0.{major_minor}")
    if not out:
        raise ToolchainError(f"{module}@{target.version}: its go.mod replaces no staging "
                             f"module; is replace_staging right for it?")
    return out


def build(target: ModuleTarget, compiler: Compiler, profile: str = "debug",
          progress: Callable[[str], None] | None = None) -> Build:
    """Build ``target`` (from the cache when it was built before)."""
    say = progress or (lambda text: None)
    flags = profile_flags(compiler, profile)
    key = _key(target, compiler, flags)
    out_dir = cache_dir("targets", f"{_safe(target.name)}-{_safe(target.version)}-"
                                   f"{compiler.label}-{profile}-{key}")
    record, binary = out_dir / "build.json", out_dir / _safe(target.name)
    cached = read_record(Build, record)
    if cached is not None and binary.exists():
        return cached
    common = dict(program=target.name, level=0, compiler=compiler.label,
                  family=compiler.family, compiler_version=compiler.version, profile=profile,
                  flags=flags, module=target.spec)
    go = compiler.go_command
    env = _go_env(compiler)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="dwarfdiag-wrapper-") as tmp:
        work = Path(tmp)
        go_line = ".".join(compiler.version.split(".")[:2]) if compiler.family == "gc" \
            else "1.18"
        lines = ["module dwarfdiag.local/wrapper", "", f"go {go_line}", ""]
        if target.replace_staging:
            lines += _staging_replaces(target, go, env, work, say)
        (work / "go.mod").write_text("\n".join(lines) + "\n")
        tags = ["-tags", ",".join(target.tags)] if target.tags else []
        say(f"go get {target.spec}")
        proc = run_tool([go, "get", *tags, target.spec], BUILD_TIMEOUT, cwd=work, env=env,
                        on_line=lambda line: say(line.strip()))
        if proc.returncode != 0:
            raise ToolchainError(f"{target.spec}: go get failed: {_go_error(proc.stderr)}")
        partial = out_dir / f".{_safe(target.name)}.{os.getpid()}.partial"
        argv = [go, "build", *flags, *tags, "-o", str(partial), target.package]
        say(f"go build {target.package} ({compiler.label}, {profile})")
        proc = run_tool(argv, BUILD_TIMEOUT, cwd=work, env=env,
                        on_line=lambda line: say(line.strip()))
        if proc.returncode != 0:
            partial.unlink(missing_ok=True)
            raise ToolchainError(f"{target.spec}: go build failed: {_go_error(proc.stderr)}")
        packages = _package_dirs(go, tags, target.package, work, env)
    os.replace(partial, binary)
    from dwarfdiag.corpus.build import describe_binary

    result = Build(status="built", binary=str(binary), seconds=round(time.perf_counter() - start, 1),
                   packages=packages, **common, **describe_binary(binary))
    atomic_write(record, to_json(result).encode())
    return result


def _package_dirs(go: str, tags: list[str], package: str, work: Path,
                  env: dict) -> dict[str, str]:
    """Import path -> "directory TAB module@version/sub" for every package the build
    used, from ``go list -deps`` (the report links types to their declarations). A
    failure here costs only those links."""
    from dwarfdiag.targets.sources import shown_module_dir

    proc = run_tool([go, "list", *tags, "-deps", "-f", "{{.ImportPath}}\t{{.Dir}}", package],
                    BUILD_TIMEOUT, cwd=work, env=env)
    modcache = run_tool([go, "env", "GOMODCACHE"], 60, cwd=work, env=env).stdout.strip()
    out = {}
    for line in proc.stdout.splitlines() if proc.returncode == 0 else []:
        path, _, directory = line.partition("\t")
        if path and directory and "." in path.split("/")[0]:  # not the standard library
            out[path] = f"{directory}\t{shown_module_dir(directory, modcache)}"
    return out


def with_actual_compiler(build: Build) -> Build:
    """The record with the compiler version the binary itself names (go may have
    switched toolchains under GOTOOLCHAIN=auto)."""
    from dwarfdiag.dwarf.producers import main_compiler

    family, version = main_compiler(build.dwarf.producers if build.dwarf else [])
    if family == "gc" and version:
        return replace(build, compiler=f"gc-{version}", compiler_version=version)
    return build

