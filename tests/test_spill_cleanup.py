"""Spill folders a killed process left behind are removed by the next spill (a batch case over
its time or memory limit is killed with SIGKILL and cannot remove its own); a SIGTERM ends the
program as Ctrl-C does, removing its folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from zdiag import spill as S

ROOT = Path(__file__).resolve().parents[1]


def _folder(parent: Path, name: str, owner: str | None, age: float = 0.0) -> Path:
    folder = parent / name
    (folder / "packets" / "bucket-000").mkdir(parents=True)
    (folder / "packets" / "bucket-000" / "part-00001.parquet").write_bytes(b"PAR1")
    if owner is not None:
        (folder / S.OWNER).write_text(owner)
    if age:
        then = time.time() - age
        os.utime(folder, (then, then))
    return folder


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_dead_owners_folder_goes_and_the_others_stay(tmp_path):
    dead = _folder(tmp_path, "zdiag-spill-dead", f"{_dead_pid()} 123")
    live = _folder(tmp_path, "zdiag-spill-live", S._owner_text(os.getpid()))
    young = _folder(tmp_path, "zdiag-spill-young", None)
    old = _folder(tmp_path, "zdiag-spill-old", None, age=2 * S.UNOWNED_AGE)
    other = _folder(tmp_path, "not-a-spill", f"{_dead_pid()} 1", age=2 * S.UNOWNED_AGE)
    elsewhere = _folder(tmp_path, "zdiag-spill-elsewhere", f"{_dead_pid()} 1 another-host")
    spill = S.Spill(tmp_path)
    try:
        assert not dead.exists() and not old.exists()
        assert live.exists() and young.exists() and other.exists() and elsewhere.exists()
        assert spill.root.exists()
        assert (spill.root / S.OWNER).read_text().split()[0] == str(os.getpid())
    finally:
        spill.close()
    assert not spill.root.exists()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_pid_taken_by_another_process_does_not_keep_a_folder(tmp_path):
    # pid 1 runs, but it is not the process that made the folder (another start time)
    reused = _folder(tmp_path, "zdiag-spill-reused", "1 0")
    assert S.sweep(tmp_path) == [reused]
    assert not reused.exists()


def test_sweep_never_raises(tmp_path):
    _folder(tmp_path, "zdiag-spill-garbled", "not a pid")
    assert len(S.sweep(tmp_path)) == 1  # an owner file that names no process: gone
    assert S.sweep(tmp_path / "missing") == []


def _spilling_child(tmp_path: Path, mode: str) -> subprocess.Popen:
    """A process that makes a spill under ``tmp_path`` and then waits to be killed."""
    code = textwrap.dedent(f"""
        import sys, time
        sys.argv = ["zdiag"]
        from zdiag.spill import Spill
        from zdiag.cli import _exit_on_sigterm
        if {mode!r} == "program":
            _exit_on_sigterm()
        spill = Spill({str(tmp_path)!r})
        print(spill.root, flush=True)
        try:
            time.sleep(60)
        finally:
            spill.close()
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            env=env)  # fmt: skip


def test_a_killed_process_folder_is_swept_by_the_next_spill(tmp_path):
    child = _spilling_child(tmp_path, "library")
    root = Path(child.stdout.readline().strip())
    assert root.exists()
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=20)
    assert root.exists()  # nobody could remove it
    S.Spill(tmp_path).close()
    assert not root.exists()


def test_sigterm_ends_the_program_through_its_cleanup(tmp_path):
    child = _spilling_child(tmp_path, "program")
    root = Path(child.stdout.readline().strip())
    assert root.exists()
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=20) == 128 + signal.SIGTERM
    assert not root.exists()
