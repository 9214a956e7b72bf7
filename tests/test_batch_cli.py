"""`zdiag batch` on the command line, --watch polling, and when the progress bar shows."""

from __future__ import annotations

import json
import shutil
import threading
import time

from batch_inbox import GOOD, make_inbox
from click.testing import CliRunner

from zdiag.batch import BatchOptions, run_batch
from zdiag.batch.runner import progress_wanted
from zdiag.cli import main


def test_cli_batch_writes_index_and_exits_by_findings(tmp_path):
    inbox = make_inbox(tmp_path / "inbox", 2)
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["batch", str(inbox), "--out", str(out), "--jobs", "2",
                                    "--timeout", "120", "--fail-on", "info"])  # fmt: skip
    assert res.exit_code in (0, 1), res.output
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    assert (index["done"], index["failed"]) == (2, 3)
    assert "batch: 2 done, 3 failed, 0 skipped" in res.output
    assert "FAILED bomb.zip" in res.output and "bomb guard" in res.output
    has_findings = any(r["findings"] for r in index["rows"])
    assert res.exit_code == (1 if has_findings else 0)
    again = CliRunner().invoke(main, ["batch", str(inbox), "--out", str(out)])
    assert "0 done, 0 failed, 5 skipped" in again.output


def test_cli_batch_usage_errors(tmp_path):
    res = CliRunner().invoke(main, ["batch", str(tmp_path / "nope"), "--out", str(tmp_path)])
    assert res.exit_code == 2
    res = CliRunner().invoke(main, ["batch", str(tmp_path), "--out", str(tmp_path / "o"),
                                    "--kind", "no.such"])  # fmt: skip
    assert res.exit_code == 2 and "--kind" in res.output
    empty = tmp_path / "empty"
    empty.mkdir()
    res = CliRunner().invoke(main, ["batch", str(empty), "--out", str(tmp_path / "o2")])
    assert res.exit_code == 3 and "no case" in res.output


def _wait(cond, seconds=60.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.1)
    return False


def test_watch_takes_new_entries_until_stopped(tmp_path):
    inbox = make_inbox(tmp_path / "inbox", 1, broken=False)
    out = tmp_path / "out"
    seen: list[str] = []
    stop = threading.Event()
    opts = BatchOptions(jobs=2, watch=True, poll=0.2, settle=0.0)
    box: dict = {}
    th = threading.Thread(
        target=lambda: box.update(s=run_batch(inbox, out, opts, on_row=lambda r: seen.append(r["name"]), stop=stop))
    )  # fmt: skip
    th.start()
    try:
        assert _wait(lambda: seen == ["case00.txt"])
        # a file still being written (.part) is not a case until it is renamed
        shutil.copyfile(GOOD[1], inbox / "late.txt.part")
        time.sleep(1.0)
        assert seen == ["case00.txt"]
        (inbox / "late.txt.part").rename(inbox / "late.txt")
        assert _wait(lambda: "late.txt" in seen)
        assert _wait(lambda: (out / "index.json").exists()
                     and json.loads((out / "index.json").read_text())["done"] == 2)  # fmt: skip
    finally:
        stop.set()
        th.join(60)
    assert not th.is_alive()
    assert box["s"].done == 2 and seen.count("late.txt") == 1


def test_progress_only_on_a_terminal_without_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    assert progress_wanted(True) and not progress_wanted(False)
    monkeypatch.setenv("CI", "1")
    assert not progress_wanted(True)
