"""trmdstat: -G summary and -GD detail reports as message events."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from tools.accounting import parse_accounted

import zdiag
from zdiag.kinds import trmdstat as tr

ROOT = Path(__file__).resolve().parents[1]
MSG = ROOT / "fixtures" / "messages"


def test_gd_detail_rows():
    ts = zdiag.parse([MSG / "trmdstat_GD_global_stall_detail_v2r1.txt"])
    assert ts["files"].iloc[0]["kind"] == "trmdstat" and ts["files"].iloc[0]["unrecognised"] == 0
    m = ts["messages"]
    assert m["msg_id"].tolist() == ["EZZ8671I", "EZZ8672I"]
    enter, exit_ = m.iloc[0], m.iloc[1]
    assert str(enter["ts"]) == "2011-10-29 18:02:19.080000"
    assert (enter["stalledpct"], enter["totalconn"], enter["smallwinpct"], enter["writeblkpct"]) \
        == (50, 1004, 49, 0)  # fmt: skip
    # the lone number under "Correlator" (ruler position), the Duration cell blank
    assert enter["correlator"] == 3 and pd.isna(enter["duration_s"])
    assert enter["action"] == "noresetconn" and enter["report"] == "-GD"
    assert (exit_["stalledpct"], exit_["totalconn"]) == (25, 2008)


def test_g_summary_counts_and_sections():
    m = zdiag.parse([MSG / "trmdstat_G_global_stall_summary_v2r1_wscollapsed.txt"])["messages"]
    summary = m[m.event.str.startswith("stall")]
    assert summary["msg_id"].tolist() == ["EZZ8671I", "EZZ8672I", "EZZ8672I"]
    assert summary["count"].tolist()[:2] == [1, 1]
    assert summary["duration_s"].tolist()[2] == 2920.0
    conns = m[m.event == "connections"]
    assert set(conns["msg_id"]) == {"EZZ8674I"}  # under "Connections Would Have Been Reset"
    assert conns["remote_ip"].tolist()[2] == "2001:db8:10::11:2:1"
    assert conns["count"].sum() == 502


def test_collapsed_detail_row_and_reset_section(tmp_path):
    text = (
        "trmdstat for z/OS CS V2R1 Tue Dec 6 13:16:51 2011\n"
        "Command Entered : trmdstat -GD /tmp/x.log\n"
        "Global TCP Stall Events\n"
        "10/29/2011 18:02:19.08 Enter 50% 1004 49% 0% 3 noresetconn\n"
        "10/29/2011 18:53:21.22 Exit 25% 2008 25% 0% 3062 3 resetconn\n"
        "Connections Reset\n"
        "Remote IP Address Count\n"
        "--------------------------------------- ----------\n"
        "10.11.2.1 126\n"
    )
    p = tmp_path / "t.txt"
    p.write_text(text)
    ts = zdiag.parse([p])
    m = ts["messages"]
    assert ts["files"].iloc[0]["unrecognised"] == 0
    assert m["correlator"].tolist()[:2] == [3, 3]
    assert pd.isna(m["duration_s"].iloc[0]) and m["duration_s"].iloc[1] == 3062.0
    assert m["msg_id"].tolist()[2] == "EZZ8673I"


def test_numbers_too_long_for_a_number_are_null(tmp_path):
    """Found by bench/fuzz.py: a Duration of 51,098 digits made Python's int() refuse it
    (its 4,300-digit limit) and the whole file failed; a Correlator beyond 64 bits too."""
    text = (
        "trmdstat for z/OS CS V2R1 Tue Dec 6 13:16:51 2011\n"
        "Command Entered : trmdstat -GD /tmp/x.log\n"
        "Global TCP Stall Events\n"
        "10/29/2011 18:02:19.08 Enter 50% 1004 49% 0% 3 noresetconn\n"
        f"10/29/2011 18:53:21.22 Exit 25% 2008 25% 0% {'7' * 6000} 99999999999999999999 resetconn\n"
    )
    p = tmp_path / "t.txt"
    p.write_text(text)
    ts = zdiag.parse([p])
    f = ts["files"].iloc[0]
    assert pd.isna(f["error"]) and f["unrecognised"] == 0
    m = ts["messages"]
    assert pd.isna(m["duration_s"].iloc[1]) and pd.isna(m["correlator"].iloc[1])
    assert m["correlator"].iloc[0] == 3 and m["totalconn"].tolist() == [1004, 2008]


def test_unknown_report_lines_unrecognised(tmp_path):
    p = tmp_path / "q.txt"
    p.write_text("trmdstat for z/OS CS V2R1 Tue Dec 6 13:16:51 2011\n"
                 "Command Entered : trmdstat -Q /tmp/x.log\n"
                 "12  34  QOS 99.9 whatever\n")  # fmt: skip
    ts = zdiag.parse([p])
    assert ts["files"].iloc[0]["unrecognised"] == 1


LINES = ["trmdstat for z/OS CS V2R1  Tue Dec  6 13:16:51 2011", "Connections Reset",
         "10/29/2011 18:02:19.08 Enter        50%       1004     49%      0%      3 noresetconn",
         "10.11.2.1 126", "---------- -------", "Global TCP Stall Exited: 1", "",
         "No records to display"]  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(LINES), st.text(max_size=30)), max_size=25))
def test_every_line_accounted(lines):
    out, _ = parse_accounted(tr.parse, lines)
