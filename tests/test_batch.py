"""Batch mode: 50 cases with 3 broken ones, idempotent re-runs, per-case outputs, index."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from batch_inbox import BROKEN, make_inbox, writer_available
from openpyxl import load_workbook

from zdiag.batch import BatchOptions, case_id, run_batch
from zdiag.batch.cases import inbox_entries, sanitise
from zdiag.batch.state import State


@pytest.fixture(scope="module")
def fifty(tmp_path_factory):
    """50 cases (47 good of five shapes + garbage, bomb, traversal), run once."""
    base = tmp_path_factory.mktemp("batch50")
    inbox = make_inbox(base / "inbox", 47)
    out = base / "out"
    summary = run_batch(inbox, out, BatchOptions(jobs=4, timeout=120))
    return inbox, out, summary


def test_fifty_cases_47_done_3_failed_with_reasons(fifty):
    inbox, out, summary = fifty
    assert len(inbox_entries(inbox)) == 50
    assert (summary.done, summary.failed, summary.skipped) == (47, 3, 0)
    rows = {r["name"]: r for r in summary.rows}
    assert len(rows) == 50
    for name, reason in BROKEN.items():
        assert rows[name]["status"] == "failed", name
        assert reason in rows[name]["error"], (name, rows[name]["error"])
    assert "binary" in rows["garbage.bin"]["error"]
    assert "traversal.zip!../../escape.txt" in rows["traversal.zip"]["error"]
    good = [r for n, r in rows.items() if n not in BROKEN]
    assert all(r["status"] == "done" and r["error"] is None for r in good)
    # every good case read all its files, with nothing unrecognised
    assert all(r["files"] >= 1 and r["file_errors"] == 0 and r["unrecognised"] == 0 for r in good)
    # the demo reset case and its copies produce the bundled rule's finding
    assert any(r["findings"] and r["top_rule"] for r in good)
    assert not (inbox.parent / "escape.txt").exists() and not (out.parent / "escape.txt").exists()


def test_case_folders_and_reports(fifty):
    inbox, out, summary = fifty
    xlsx, sarif = writer_available("xlsx"), writer_available("sarif")
    for row in summary.rows:
        folder = out / row["case"]
        assert folder.is_dir(), row["case"]
        report = json.loads((folder / "findings.json").read_text(encoding="utf-8"))
        assert len(report["findings"]) == row["findings"]
        assert {f["case"] for f in report["files"]} == {row["case"]}
        marker = json.loads((folder / "case.json").read_text(encoding="utf-8"))
        assert marker["case"] == row["case"] and marker["status"] == row["status"]
        # xlsx and sarif: asserted when their writers have landed, else a recorded gap
        assert (folder / "findings.xlsx").exists() == xlsx
        assert (folder / "findings.sarif").exists() == sarif
        for option, present in (("xlsx", xlsx), ("sarif", sarif)):
            assert (f"{option}:" in (row["gaps"] or "")) != present
    assert not any((out / ".zdiag" / "tmp").glob("*")), "no half-built case left behind"


def test_index_json_and_xlsx(fifty):
    inbox, out, summary = fifty
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    assert (index["cases"], index["done"], index["failed"]) == (50, 47, 3)
    assert [r["case"] for r in index["rows"]] == [r["case"] for r in summary.rows]
    ws = load_workbook(out / "index.xlsx")["Cases"]
    table = list(ws.values)
    assert table[0][:3] == ("case", "name", "status") and len(table) == 51
    by_case = {t[0]: t for t in table[1:]}
    for r in index["rows"]:
        assert by_case[r["case"]][2] == r["status"]


def test_case_id_is_name_and_content(fifty):
    inbox, out, summary = fifty
    for row in summary.rows:
        entry = inbox / row["name"]
        assert row["case"] == case_id(entry)
        stem, digest = row["case"].rsplit("-", 1)
        assert stem == sanitise(row["name"]) and len(digest) == 12
    assert sanitise("../a b/é.txt") == "a_b_.txt"


def test_rerun_does_no_work_twice(fifty, tmp_path):
    inbox, out, first = fifty
    again = run_batch(inbox, out, BatchOptions(jobs=2))
    assert (again.done, again.failed, again.skipped) == (0, 0, 50)
    state = State(out)
    try:
        events = Counter(e for _c, e in state.events())
        per_case = Counter(c for c, e in state.events() if e in ("done", "failed", "adopted"))
    finally:
        state.close()
    assert events["start"] == 50 and set(per_case.values()) == {1}
    assert again.rows == first.rows


def test_changed_content_is_a_new_case(tmp_path):
    inbox = make_inbox(tmp_path / "inbox", 2, broken=False)
    out = tmp_path / "out"
    first = run_batch(inbox, out, BatchOptions(jobs=2))
    assert first.done == 2
    entry = inbox / "case00.txt"
    entry.write_bytes(entry.read_bytes() + b"\n")
    second = run_batch(inbox, out, BatchOptions(jobs=2, tables=True))
    assert (second.done, second.skipped) == (1, 1)
    new = second.ran[0]
    assert new["name"] == "case00.txt" and new["case"] != first.rows[0]["case"]
    assert any((out / new["case"] / "tables").glob("*.parquet"))
    assert len(second.rows) == 3  # the index keeps the earlier version of the case
