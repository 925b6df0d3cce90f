"""The second core (dwarfdiag/fork.py) and the paused cycle collector (dwarfdiag/heap.py)."""

from __future__ import annotations

import gc
import os
import time

import pytest

from dwarfdiag.errors import BadInputError
from dwarfdiag.fork import LOST, Forked, second_core
from dwarfdiag.heap import bulk_build


def test_the_childs_value_comes_back_whole():
    value = {"dies": [[(11, 36, 0, {3: "main.T", 73: 8})]], "tally": {(0, 2): 5}, "b": b"\0x"}
    with Forked(lambda: value) as child:
        assert child.result() == value


def test_the_childs_bad_input_is_raised_here_with_its_message():
    def work():
        raise BadInputError(".debug_info: unit at 0x40 is corrupt")

    with Forked(work) as child, pytest.raises(BadInputError, match="unit at 0x40 is corrupt"):
        child.result()


@pytest.mark.parametrize("how", ["exit", "bug", "unmarshallable"])
def test_a_child_lost_any_other_way_is_lost(how):
    def work():
        if how == "exit":
            os._exit(3)  # as if killed for memory
        if how == "bug":
            raise KeyError("a bug in the child")
        return object()  # marshal cannot send it

    with Forked(work) as child:
        assert child.result() is LOST


def test_leaving_early_stops_the_child():
    with Forked(lambda: time.sleep(60)) as child:
        pid = child._pid
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # already reaped: nothing left running


def test_the_second_core_is_not_offered_when_turned_off_or_missing(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.delenv("DWARFDIAG_JOBS", raising=False)
    assert second_core()
    monkeypatch.setenv("DWARFDIAG_JOBS", "1")
    assert not second_core()
    monkeypatch.delenv("DWARFDIAG_JOBS")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    assert not second_core()


def test_bulk_build_pauses_the_collector_and_nests():
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    with bulk_build():
        assert not gc.isenabled()
        with bulk_build():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner one leaves it to the outer
    assert gc.isenabled() and gc.get_freeze_count() == frozen
    with bulk_build():
        with bulk_build(freeze=True):  # a graph read while a check compares
            inner = [[i] for i in range(1000)]
        assert not gc.isenabled() and gc.get_freeze_count() >= frozen + len(inner)
    assert gc.isenabled()
    gc.unfreeze()
    frozen = gc.get_freeze_count()
    with bulk_build(freeze=True):
        data = [[i] for i in range(1000)]  # lists: always tracked by the collector
    assert gc.is_tracked(data[0])
    assert gc.isenabled() and gc.get_freeze_count() >= frozen + len(data)
    gc.unfreeze()


@pytest.mark.parametrize("jobs", ["2", "1"])
def test_background_work_is_done_when_waited_for(jobs, tmp_path, monkeypatch):
    from dwarfdiag.fork import in_background, wait_for_background

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setenv("DWARFDIAG_JOBS", jobs)
    mark = tmp_path / "done"
    parent = os.getpid()
    in_background(lambda: mark.write_text(str(os.getpid())))
    wait_for_background()
    assert mark.exists()
    assert (mark.read_text() != str(parent)) == (jobs == "2")  # a child only with 2 cores


def test_a_failing_background_child_leaves_quietly(capfd, monkeypatch):
    from dwarfdiag.fork import in_background, wait_for_background

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.delenv("DWARFDIAG_JOBS", raising=False)

    def work():
        raise OSError("disk full")

    in_background(work)
    wait_for_background()
    assert "disk full" not in capfd.readouterr().err


def test_finished_background_children_are_reaped_before_the_next(monkeypatch):
    from dwarfdiag import fork

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.delenv("DWARFDIAG_JOBS", raising=False)
    fork.wait_for_background()  # what earlier tests left
    fork.in_background(lambda: None)
    first = list(fork._BACKGROUND)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # until the first child has surely ended
        with open(f"/proc/{first[-1]}/stat") as f:
            if f.read().split(") ")[1].startswith("Z"):
                break
        time.sleep(0.01)
    fork.in_background(lambda: None)
    assert first[-1] not in fork._BACKGROUND and len(fork._BACKGROUND) == 1
    fork.wait_for_background()
    assert fork._BACKGROUND == []


@pytest.mark.parametrize("cores, lose", [({0, 1}, False), ({0, 1}, True), ({0}, False)])
def test_on_second_core_gives_the_value_however_it_is_computed(cores, lose, monkeypatch):
    """OnSecondCore: the child's value; the same computed here when the child is lost
    (here: it exits at once) or when there is one core (then no child at all)."""
    from dwarfdiag.fork import OnSecondCore

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: cores)
    parent = os.getpid()

    def work():
        if lose and os.getpid() != parent:
            os._exit(3)
        return {"keys": {"main.T", "main.U"}, "cycles": [[1, 2]], "here": os.getpid() == parent}

    with OnSecondCore(work) as beside:
        value = beside.result()
    assert value["keys"] == {"main.T", "main.U"} and value["cycles"] == [[1, 2]]
    assert value["here"] == (lose or len(cores) == 1)


LEAVER = """
import os, sys, time
from pathlib import Path
from dwarfdiag import fork

go, done = Path(sys.argv[1]), Path(sys.argv[2])

def work():
    while not go.exists():  # until the test says so: the caller has its output by then
        time.sleep(0.01)
    done.write_text(f"{os.getpid()} {os.getsid(0)}")

fork.detach_at_exit()
fork.in_background(work)
fork.when_idle(lambda: Path(sys.argv[3]).write_text("second"))
print("output", os.getpid(), flush=True)
fork.leave_work_behind()
os._exit(0)
"""


def test_put_off_work_runs_after_the_process_has_left(tmp_path):
    """The script's cache writes: run by a detached child once the process leaves,
    holding none of the caller's pipes, in a session of its own."""
    import subprocess
    import sys

    go, done, second = tmp_path / "go", tmp_path / "done", tmp_path / "second"
    proc = subprocess.run([sys.executable, "-c", LEAVER, str(go), str(done), str(second)],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "DWARFDIAG_JOBS": "2"})
    # the output is whole and the pipes closed while the work still waits for "go"
    assert proc.returncode == 0 and proc.stdout.startswith("output ") and proc.stderr == ""
    assert not done.exists()
    go.touch()
    deadline = time.monotonic() + 30
    while not (done.exists() and second.exists()) and time.monotonic() < deadline:
        time.sleep(0.01)
    pid, session = map(int, done.read_text().split())
    assert session != os.getsid(0) and pid != int(proc.stdout.split()[1])
    assert second.read_text() == "second"


def test_with_one_process_nothing_is_put_off(tmp_path):
    """DWARFDIAG_JOBS=1 keeps one process: the work is done where it is asked for,
    before the output."""
    import subprocess
    import sys

    go, done, second = tmp_path / "go", tmp_path / "done", tmp_path / "second"
    go.touch()
    proc = subprocess.run([sys.executable, "-c", LEAVER, str(go), str(done), str(second)],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "DWARFDIAG_JOBS": "1"})
    assert proc.returncode == 0 and proc.stdout.startswith("output ")
    pid, session = map(int, done.read_text().split())
    assert pid == int(proc.stdout.split()[1]) and second.read_text() == "second"


def test_without_detaching_when_idle_runs_now_and_in_background_forks(tmp_path, monkeypatch):
    from dwarfdiag import fork

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.delenv("DWARFDIAG_JOBS", raising=False)
    mark = tmp_path / "now"
    fork.when_idle(lambda: mark.write_text(str(os.getpid())))
    assert mark.read_text() == str(os.getpid())
    read_end, write_end = os.pipe()
    fork.in_background(lambda: os.write(write_end, b"x"), handed=[write_end])
    with pytest.raises(OSError):
        os.fstat(write_end)  # handed to the child: closed here
    assert os.read(read_end, 1) == b"x"
    os.close(read_end)
    fork.wait_for_background()
