"""``DIR/index.json`` and ``DIR/index.xlsx``: one row per case across the batch, written to
a temporary name and renamed, so a reader never sees half a file."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from zdiag.batch.cases import LEVELS

COLUMNS = ("case", "name", "status", "files", "file_errors", "lines", "unrecognised",
           "findings", *LEVELS, "top_rule", "exit_code", "seconds", "error", "gaps")  # fmt: skip


def index_dict(rows: list[dict]) -> dict:
    from zdiag import __version__

    counts = {s: sum(1 for r in rows if r["status"] == s) for s in ("done", "failed")}
    return {
        "version": __version__,
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "cases": len(rows),
        **counts,
        "rows": [{c: r.get(c) for c in (*COLUMNS, "entry", "outputs")} for r in rows],
    }


def write_index(out: Path, rows: list[dict]) -> tuple[Path, Path]:
    out = Path(out)
    jpath, xpath = out / "index.json", out / "index.xlsx"
    tmp = out / ".zdiag" / f"index.json.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(index_dict(rows), indent=1, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, jpath)
    tmpx = out / ".zdiag" / f"index.xlsx.{os.getpid()}.tmp"
    _write_xlsx(rows, tmpx)
    os.replace(tmpx, xpath)
    return jpath, xpath


def _write_xlsx(rows: list[dict], path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    from zdiag.report.excel_safe import safe_cell

    wb = Workbook()
    ws = wb.active
    ws.title = "Cases"
    ws.append(list(COLUMNS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    red = PatternFill("solid", fgColor="F4CCCC")
    for r in rows:
        ws.append([safe_cell(r.get(c)) for c in COLUMNS])
        if r.get("status") == "failed":
            for cell in ws[ws.max_row]:
                cell.fill = red
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{max(1, len(rows) + 1)}"
    for i, col in enumerate(COLUMNS, start=1):
        width = max([len(col)] + [len(str(r.get(col) or "")) for r in rows[:2000]])
        ws.column_dimensions[get_column_letter(i)].width = min(max(8, width + 2), 80)
    summary = wb.create_sheet("Summary")
    summary.append(["status", "cases"])
    for status in ("done", "failed"):
        summary.append([status, sum(1 for r in rows if r.get("status") == status)])
    summary.append(["findings", sum(int(r.get("findings") or 0) for r in rows)])
    for lv in LEVELS:
        summary.append([f"findings {lv}", sum(int(r.get(lv) or 0) for r in rows)])
    wb.save(path)
