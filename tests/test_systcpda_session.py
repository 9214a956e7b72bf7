"""systcpda.session on the technote's SESSION / SESSION DETAIL text."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import zdiag
from zdiag.grammar import MATCH_GROUP, extract, lark_parser, row_regex
from zdiag.kinds import systcpda_session as ss
from zdiag.kinds.base import Accounting

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "fixtures" / "systcpda"


def test_reset_example_columns():
    pk = zdiag.parse([SAMPLES / "seed004_session_detail_reset_ex1.txt"])["packets"]
    assert len(pk) == 12
    first, last = pk.iloc[0], pk.iloc[-1]
    assert (first["nr"], first["direction"], bool(first["syn"]), bool(first["ack"])) == (
        1, "in", True, False)  # fmt: skip
    assert first["seq"] == 965574368 and first["window"] == 368640
    assert bool(last["rst"]) and last["direction"] == "out" and last["window"] == 0
    assert pk.loc[pk.nr == 6, "fin"].item() and pk.loc[pk.nr == 6, "ibm_flag"].item() == "?"
    assert list(pk.loc[pk.nr.between(7, 11), "ibm_flag"]) == ["r"] * 5
    assert pk.loc[pk.nr == 10, "delta_s"].item() == pytest.approx(17.822049)
    assert str(pk.loc[pk.nr == 10, "ts"].item()) == "1900-01-01 10:45:17.409907"
    assert pk["ibm_flag"].isna().sum() == 3  # blank F column stays null, not ""


def test_keepalive_table_without_timestamp_column():
    pk = zdiag.parse([SAMPLES / "seed004_session_detail_keepalive_no_timestamp.txt"])["packets"]
    assert len(pk) == 21
    assert pk["ts"].isna().all() and pk["time"].isna().all()
    assert pk.loc[pk.nr == 3, "delta_s"].item() == pytest.approx(185.834001)
    assert pk.loc[pk.nr == 3, "ibm_flag"].item() == "k"


def test_zero_window_elision_is_layout():
    ts = zdiag.parse([SAMPLES / "seed004_session_detail_zero_window.txt"])
    assert len(ts["packets"]) == 17
    f = ts["files"].iloc[0]
    assert f["unrecognised"] == 0 and f["parsed"] == 17
    assert ts["packets"]["nr"].tolist()[-1] == 30


def test_summary_block_and_counts():
    ts = zdiag.parse([SAMPLES / "seed004_session_summary_packets.txt"])
    s = ts["sessions"].iloc[0]
    assert (s["packets_local"], s["packets_remote"]) == (97, 109)
    assert (s["untraced_local"], s["dupack_remote"], s["delayed_ack_remote"]) == (3, 0, 4)
    assert (s["ooo_local"], s["ooo_remote"]) == (1, 2)
    ts = zdiag.parse([SAMPLES / "seed004_session_summary_conn_header.txt"])
    s = ts["sessions"].iloc[0]
    assert (s["local_port"], s["remote_port"], s["application"]) == (21, 1095, "ftp")
    assert s["link_speed_unit"] == "Megabits/s" and s["link_speed_local"] == 10
    assert str(s["first_ts"]) == "2007-08-24 10:21:54.688167"


def _block(n_packets: int, lport: int) -> list[str]:
    rows = [
        "Local Ip Address:                             10.1.1.1",
        "Remote Ip Address:                                   10.2.2.2",
        "Host:                                 Local,          Remote",
        f" Port:                                   {lport},            1095",
        "Connection:",
        " First timestamp:                 2007/08/24 23:59:59.000000",
        " Last timestamp:                  2007/08/25 00:00:01.000000",
        f"Packets:                               {n_packets},             0",
        " TcpHdr   IO F        Seq        Ack RcvWnd  Data Delta Time       TimeStamp",
    ]
    for i in range(1, n_packets + 1):
        clock = "23:59:59.500000" if i == 1 else "00:00:00.250000"
        rows.append(f"{i:<3}  A      O . {1000 + i:10d} {2000:10d}  65535   100   0.000100 {clock}")
    return rows


def test_packets_belong_to_the_block_above_and_counts_agree():
    lines = _block(3, 21) + [""] + _block(2, 23)
    acct = Accounting(len(lines))
    acct.layout([i for i, ln in enumerate(lines) if not ln])
    out = ss.parse(lines, acct)
    pk, se = out["packets"], out["sessions"]
    assert acct.counts()["unrecognised"] == 0
    assert list(pk["conn"].unique()) == ["10.1.1.1:21-10.2.2.2:1095", "10.1.1.1:23-10.2.2.2:1095"]
    counts = pk.groupby("conn").size()
    for _, s in se.iterrows():
        assert counts[s["conn"]] == s["packets_local"] + s["packets_remote"]
    # the clock wraps past midnight: the date moves on
    assert str(pk["ts"].iloc[1]) == "2007-08-25 00:00:00.250000"
    assert (pk["src_ip"] == "10.1.1.1").all() and (pk["dst_port"] == 1095).all()


ROWS = [ln for p in sorted(SAMPLES.glob("seed004_session_detail*.txt"))
        for ln in p.read_text().splitlines() if ln[:8].strip()[:1].isdigit()]  # fmt: skip


@pytest.mark.parametrize("row", ROWS[:40])
def test_row_pattern_agrees_with_lark(row):
    """The fast path is derived from the grammar; Lark itself must read the row the same."""
    parser = lark_parser(ss.GRAMMAR, start="packet_row")
    tree = parser.parse(row.strip())
    by_lark = {t.type.lower(): t.value for t in tree.children}
    got = extract([row], row_regex(ss.GRAMMAR, "packet_row")).row(0, named=True)
    by_regex = {k: v for k, v in got.items() if v is not None and k != MATCH_GROUP}
    assert by_regex == by_lark


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(ROWS + ["garbage line", "", "    .......lines 1 - 2 removed"]),
                max_size=30),
       st.integers(min_value=0, max_value=200))  # fmt: skip
def test_any_mix_of_rows_is_fully_accounted(lines, cut):
    if lines:
        lines[-1] = lines[-1][: cut % (len(lines[-1]) + 1)]
    acct = Accounting(len(lines))
    ss.parse(lines, acct)
    acct.claim_rest("rest")
    c = acct.counts()
    assert c["parsed"] + c["layout"] + c["unrecognised"] == len(lines)


def test_regex_requires_blanks_between_numbers():
    # a row with one number missing must not be read by splitting another number
    bad = "1      S   I   2499151066  64512     0   0.000000 14:23:50.221695"
    got = extract(pl.Series([bad]), row_regex(ss.GRAMMAR, "packet_row"))
    assert got[MATCH_GROUP][0] is None


def test_dtypes_are_nullable():
    pk = zdiag.parse([SAMPLES / "seed004_session_detail_reset_ex1.txt"])["packets"]
    assert str(pk["seq"].dtype) == "Int64" and str(pk["syn"].dtype) == "boolean"
    assert str(pk["ts"].dtype) == "datetime64[us]"
    assert isinstance(pk["conn"].dtype, pd.StringDtype)
