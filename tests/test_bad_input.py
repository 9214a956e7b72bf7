"""Bad input never stops a run: each file gets a clear one-line message naming file and line,
and the other files of the same run are still parsed."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import zdiag
from zdiag.cli import main
from zdiag.decode import ebcdic_encode

ROOT = Path(__file__).resolve().parents[1]
GOOD = ROOT / "fixtures" / "systcpda" / "seed004_session_detail_reset_ex1.txt"
TEXT = GOOD.read_text()


@pytest.fixture
def inbox(tmp_path):
    (tmp_path / "good.txt").write_text(TEXT)
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "garbage.bin").write_bytes(bytes(range(256)) * 20)
    cut = TEXT[: TEXT.index("10:44:50.629667") + 5]  # ends inside packet row 8
    (tmp_path / "cut.txt").write_text(cut)
    (tmp_path / "oneline.txt").write_text(TEXT.splitlines()[-1])
    return tmp_path


def _tables_without_provenance(ts):
    return {k: v.drop(columns=["case", "source"]) for k, v in ts.items()
            if k not in ("files", "unrecognised")}  # fmt: skip


def test_library_records_each_problem_and_goes_on(inbox):
    ts = zdiag.parse([inbox])
    files = ts["files"].set_index(ts["files"]["source"].map(lambda s: Path(s).name))
    assert files.loc["good.txt", "unrecognised"] == 0 and files.loc["good.txt", "parsed"] == 12
    assert files.loc["empty.txt", "error"] == "empty file"
    assert "binary" in files.loc["garbage.bin", "error"]
    assert files.loc["garbage.bin", "error_line"] >= 1
    cut = files.loc["cut.txt"]
    assert "truncated: line 12" in cut["notes"] and cut["unrecognised"] == 1
    assert cut["error_line"] == 12 and cut["parsed"] == 7
    one = files.loc["oneline.txt"]
    assert one["kind"] == "unknown" and one["lines"] == 1  # one packet row says too little
    assert (ts["packets"]["source"].str.endswith("good.txt")).sum() == 12


def test_cli_one_line_messages_no_traceback(inbox):
    res = CliRunner().invoke(main, ["parse", str(inbox), "--table", "packets", "--format", "csv"])
    assert res.exit_code == 0, res.output
    err = res.stderr
    assert "Traceback" not in err
    assert f"ERROR {inbox / 'empty.txt'}:1: empty file" in err
    assert f"ERROR {inbox / 'garbage.bin'}:" in err and "binary content" in err
    assert f"NOTE {inbox / 'cut.txt'}: truncated: line 12" in err
    assert "good.txt: systcpda.session (utf-8) lines=16 parsed=12 layout=4 unrecognised=0" in err


def test_no_readable_input_exits_3(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    res = CliRunner().invoke(main, ["parse", str(tmp_path / "empty.txt")])
    assert res.exit_code == 3 and "no readable input" in res.stderr


@pytest.mark.parametrize("variant", ["cp1047", "cp037", "crlf", "asa", "latin1-tabs"])
def test_encoded_copies_give_the_same_tables(tmp_path, variant):
    if variant in ("cp1047", "cp037"):
        data = ebcdic_encode(TEXT, variant)
    elif variant == "crlf":
        data = TEXT.replace("\n", "\r\n").encode()
    elif variant == "asa":
        lines = TEXT.split("\n")[:-1]
        data = ("\n".join(["1" + lines[0]] + [" " + ln for ln in lines[1:]]) + "\n").encode()
    else:
        data = TEXT.replace("    ", "\t", 1).encode("latin-1")
    p = tmp_path / "copy.txt"
    p.write_bytes(data)
    want = _tables_without_provenance(zdiag.parse([GOOD]))
    got = zdiag.parse([p])
    for name, df in want.items():
        pd.testing.assert_frame_equal(_tables_without_provenance(got)[name], df)
    assert got["files"].iloc[0]["unrecognised"] == 0


def test_unknown_file_is_reported_not_guessed(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("Dear team,\nthe trace is attached.\n")
    ts = zdiag.parse([p])
    f = ts["files"].iloc[0]
    assert f["kind"] == "unknown" and "skipped" in f["error"]
    assert f["lines"] == 2 and f["unrecognised"] == 2
    assert len(ts["unrecognised"]) == 1 and ts["unrecognised"].iloc[0]["line"] == 1


def test_parser_bug_is_recorded_not_raised(monkeypatch, tmp_path):
    from zdiag.kinds import registry

    kind = registry.get("systcpda.session")

    def boom(lines, acct):
        raise RuntimeError("kaput")

    broken = dataclasses.replace(kind, parse=boom)
    monkeypatch.setitem(registry._KINDS, "systcpda.session", broken)
    (tmp_path / "a.txt").write_text(TEXT)
    ts = zdiag.parse([tmp_path])
    f = ts["files"].iloc[0]
    assert f["error"] == "systcpda.session parser failed: RuntimeError: kaput"
    assert f["unrecognised"] == f["lines"] - f["layout"]


def test_report_quoted_in_other_text_is_not_that_report(tmp_path):
    """Keywords of a kind inside JSON (an expected-output file, an e-mail) don't make it
    that report: the detected kind must recognise some line of its own layout."""
    p = tmp_path / "quoted.json"
    p.write_text('{"text": "TcpHdr   IO F  Seq  Ack RcvWnd  Data Delta Time",\n'
                 ' "note": "Packets: Untraced Packets In-order data"}\n')  # fmt: skip
    f = zdiag.parse([p])["files"].iloc[0]
    assert f["kind"] == "unknown" and "no line has its layout" in f["error"]
    # told the kind, zdiag takes the user's word and reports the lines it cannot read
    f = zdiag.parse([p], kind="systcpda.session")["files"].iloc[0]
    assert f["kind"] == "systcpda.session" and f["unrecognised"] == 2 and pd.isna(f["error"])
