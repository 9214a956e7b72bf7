"""A batch killed with SIGKILL mid-way and run again ends with every case done exactly once."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter

from batch_inbox import make_inbox
from conftest import ROOT

from zdiag.batch import BatchOptions, run_batch
from zdiag.batch.state import State

N = 24


def _finished(db) -> int:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute(
                "SELECT count(*) FROM events WHERE event IN ('done', 'failed')"
            ).fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def test_killed_and_resumed_run_does_every_case_once(tmp_path):
    inbox = make_inbox(tmp_path / "inbox", N, broken=False)
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT / "tests")]))
    env.pop("CI", None)
    cmd = [sys.executable, "-m", "zdiag", "--no-progress", "batch", str(inbox), "--out", str(out),
           "--jobs", "2"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    db = out / ".zdiag" / "state.sqlite"
    deadline = time.monotonic() + 60
    try:
        while _finished(db) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        # the whole session: the coordinator, its forkserver and the running case children
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    killed_at = _finished(db)
    assert 3 <= killed_at < N, f"the kill must land mid-way ({killed_at} of {N} finished)"
    assert not (out / "index.json").exists()

    resumed = run_batch(inbox, out, BatchOptions(jobs=2))
    assert resumed.done + resumed.skipped == N and resumed.failed == 0
    assert resumed.skipped >= killed_at
    state = State(out)
    try:
        events = state.events()
    finally:
        state.close()
    finished = Counter(c for c, e in events if e in ("done", "failed", "adopted"))
    assert len(finished) == N and set(finished.values()) == {1}, finished
    assert any(e == "requeued" for _c, e in events), "cases running at the kill are run again"
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    assert index["done"] == N and len({r["case"] for r in index["rows"]}) == N
    for r in index["rows"]:
        assert (out / r["case"] / "case.json").exists() and (
            out / r["case"] / "findings.json"
        ).exists()
    assert not any((out / ".zdiag" / "tmp").glob("*"))

    third = run_batch(inbox, out, BatchOptions(jobs=2))
    assert (third.done, third.failed, third.skipped) == (0, 0, N)


def test_finished_folder_without_a_record_is_adopted_not_rerun(tmp_path):
    """The window between a case's rename and its record: a kill there loses no work."""
    inbox = make_inbox(tmp_path / "inbox", 3, broken=False)
    out = tmp_path / "out"
    first = run_batch(inbox, out, BatchOptions(jobs=2))
    assert first.done == 3
    for f in (out / ".zdiag").glob("state.sqlite*"):
        f.unlink()  # as if every record had been lost
    half_built = out / ".zdiag" / "tmp" / "x.partial"
    half_built.mkdir(parents=True)
    second = run_batch(inbox, out, BatchOptions(jobs=2))
    assert (second.done, second.adopted, second.skipped) == (0, 3, 3)
    state = State(out)
    try:
        assert sorted(e for _c, e in state.events()) == ["adopted"] * 3
    finally:
        state.close()
    assert [r["case"] for r in second.rows] == [r["case"] for r in first.rows]
    assert not half_built.exists()
