"""config.ftpdata: FTP.DATA statements typed, comments, sequence numbers, bad numbers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from tools.accounting import parse_accounted

import zdiag
from zdiag.kinds import config_ftpdata as cf

ROOT = Path(__file__).resolve().parents[1]
CFG = ROOT / "fixtures" / "config"


def parse_text(tmp_path, text: str):
    p = tmp_path / "FTPDATA.txt"
    p.write_text(text, encoding="utf-8")
    return zdiag.parse([p], kind="config.ftpdata")


def test_technote_timers_in_seconds():
    c = zdiag.parse([CFG / "seed004_ftpdata_timers.txt"])["config"]
    got = dict(zip(c["statement"], c["value_num"], strict=True))
    assert got == {"DATACTTIME": 300.0, "DCONNTIME": 120.0, "INACTTIME": 300.0}
    assert set(c["unit"]) == {"s"} and set(c["kind"]) == {"ftpdata"}


def test_keepalive_examples_and_trailing_blank():
    c = zdiag.parse([CFG / "ftpdata_keepalive_statement_examples.txt"])["config"]
    assert c["statement"].tolist() == ["FTPKEEPALIVE", "DATAKEEPALIVE"]
    assert c["value"].tolist() == ["60", "60"] and c["value_num"].tolist() == [60.0, 60.0]


def test_ftpsdata_sample_comments_and_values():
    ts = zdiag.parse([CFG / "ftpdata_ftpsdata_sample_csv1r2_site_section1.txt"])
    c = ts["config"]
    assert ts["files"].iloc[0]["unrecognised"] == 0 and len(c) == 19
    row = c[c.statement == "INACTIVE"].iloc[0]
    assert (row["value"], row["value_num"], row["unit"]) == ("300", 300.0, "s")
    assert c.loc[c.statement == "UMASK", "value"].item() == "027"
    assert pd.isna(c.loc[c.statement == "UMASK", "value_num"].item())  # octal, not a count
    assert "EXTENSIONS" not in set(c["statement"])  # ";EXTENSIONS MDTM" is a comment


def test_not_a_number_is_kept_and_reported(tmp_path):
    ts = parse_text(tmp_path, " DATACTTIME abc   ; too short?\n DCONNTIME 120\n")
    c, un = ts["config"], ts["unrecognised"]
    bad = c[c.statement == "DATACTTIME"].iloc[0]
    assert bad["value"] == "abc" and pd.isna(bad["value_num"])
    assert un["line"].tolist() == [1] and "needs a number" in un["reason"].item()
    assert ts["files"].iloc[0]["error"] is pd.NA or pd.isna(ts["files"].iloc[0]["error"])


def test_sequence_numbers_lower_case_and_minutes(tmp_path):
    text = (
        f"{'  datacttime 30':<72}00010000\n{' DSWAITTIME 2 ;minutes':<72}00020000\nFTPKEEPALIVE 0\n"
    )
    c = parse_text(tmp_path, text)["config"]
    assert c["statement"].tolist() == ["DATACTTIME", "DSWAITTIME", "FTPKEEPALIVE"]
    assert c["value"].tolist() == ["30", "2", "0"]
    assert c["value_num"].tolist() == [30.0, 120.0, 0.0]


def test_modify_debug_command():
    c = zdiag.parse([CFG / "seed004_ftp_debug_modify.txt"])["config"]
    assert c["block"].tolist() == ["MODIFY", "MODIFY"]
    assert c["value"].tolist() == ["(FLO,BAS)", "(none)"]
    assert c["target"].tolist() == ["FTP_servername"] * 2


def test_detect():
    assert cf.detect([" DATACTTIME 300", " DCONNTIME 120", "; comment"]) >= 0.5
    assert cf.detect(["TCPCONFIG FINWAIT2TIME 600", "PORT", "  21 TCP FTPD1"]) == 0.0


LINES = [" DATACTTIME 300", "; comment", " DCONNTIME abc", "FTPKEEPALIVE 60 ", "",
         "      F FTPD1,DEBUG=(FLO,BAS)", "%%%", "  UMASK 027  ; mask"]  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(LINES), st.text(max_size=30)), max_size=25))
def test_every_line_accounted(lines):
    out, _ = parse_accounted(cf.parse, lines)
