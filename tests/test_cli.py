"""The command line: kinds, parse formats, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
from click.testing import CliRunner

from zdiag import __version__
from zdiag.cli import main

ROOT = Path(__file__).resolve().parents[1]
RESET = str(ROOT / "fixtures" / "systcpda" / "seed004_session_detail_reset_ex1.txt")


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_version_and_help():
    assert run("--version").output.strip().endswith(__version__)
    assert run("--help").exit_code == 0


def test_kinds_lists_with_sample():
    res = run("kinds")
    assert res.exit_code == 0
    assert "systcpda.session" in res.output and "sample:" in res.output
    assert (
        "path:" in run("kinds", "--verbose").output or "path:" in run("--verbose", "kinds").output
    )


def test_parse_table_and_csv_and_json(tmp_path):
    res = run("parse", RESET)
    assert res.exit_code == 0 and "== packets (12 rows)" in res.stdout
    res = run("parse", RESET, "--table", "packets", "--format", "csv")
    lines = res.stdout.strip().splitlines()
    assert lines[0].startswith("case,source,line,conn,nr,ts") and len(lines) == 13
    out = tmp_path / "t.json"
    assert run("parse", RESET, "--format", "json", "-o", str(out)).exit_code == 0
    data = json.loads(out.read_text())
    assert len(data["packets"]) == 12 and data["packets"][0]["seq"] == 965574368


def test_parse_parquet_and_xlsx(tmp_path):
    assert run("parse", RESET, "--format", "parquet", "-o", str(tmp_path / "pq")).exit_code == 0
    df = pd.read_parquet(tmp_path / "pq" / "packets.parquet")
    assert len(df) == 12
    x = tmp_path / "t.xlsx"
    assert run("parse", RESET, "--format", "xlsx", "-o", str(x)).exit_code == 0
    wb = openpyxl.load_workbook(x)
    assert "packets" in wb.sheetnames and wb["packets"].max_row == 13


def test_usage_errors_exit_2():
    assert run("parse").exit_code == 2
    assert run("parse", RESET, "--kind", "nope").exit_code == 2
    assert run("parse", RESET, "--format", "parquet").exit_code == 2


def test_strict_exits_3_on_unrecognised(tmp_path):
    p = tmp_path / "x.txt"
    p.write_text(Path(RESET).read_text() + "    what is this line\n")
    assert run("parse", str(p)).exit_code == 0
    assert run("parse", str(p), "--strict").exit_code == 3


def test_ibm_letters_beside_own_analysis_in_parse_and_workbook(tmp_path):
    """IBM's F letters are counted against zdiag's own classes, never copied into them."""
    res = run("parse", RESET, "--table", "packets", "--format", "csv")
    line = [ln for ln in res.stderr.splitlines() if "IBM letter vs zdiag" in ln]
    assert line == [f"{RESET}: IBM letter vs zdiag (ibm/zdiag/both): r 5/5/5, u 1/0/0; "
                    "1 packet classification differs"]  # fmt: skip
    x = tmp_path / "f.xlsx"
    assert run("scan", RESET, "--xlsx", str(x)).exit_code == 1
    rows = [r for r in openpyxl.load_workbook(x)["Summary"].iter_rows(values_only=True)]
    at = next(i for i, r in enumerate(rows) if r[0] == "IBM flag letters vs zdiag's own analysis")
    assert rows[at + 2][1:8] == ("r", "retransmission|fast_retransmission|spurious_retransmission",
                                 5, 5, 5, 0, 0)  # fmt: skip
    assert rows[at + 3][1:8] == ("u", "dup_ack", 1, 0, 0, 1, 0)


def test_progress_bar_only_on_a_terminal(monkeypatch):
    from zdiag import cli

    assert not cli.Ctx(False, False, True).progress  # CliRunner's stderr is not a TTY
    monkeypatch.setattr(cli.sys.stderr, "isatty", lambda: True, raising=False)
    monkeypatch.delenv("CI", raising=False)
    assert cli.Ctx(False, False, True).progress
    assert not cli.Ctx(False, False, False).progress  # --no-progress
    monkeypatch.setenv("CI", "true")
    assert not cli.Ctx(False, False, True).progress
    bar = list(cli._with_progress(cli.Ctx(False, False, False), iter([1, 2])))
    assert bar == [1, 2]
