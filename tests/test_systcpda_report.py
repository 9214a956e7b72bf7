"""systcpda.report and the shared sections (STATISTICS, STREAMS, header, option echo)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from systcpda_helpers import (
    SAMPLES,
    accounted,
    lark_vs_regex,
    mixed_lines,
    sample_lines,
    without_callout,
)

import zdiag
from zdiag.kinds import registry
from zdiag.kinds import systcpda_common as common
from zdiag.kinds import systcpda_report as rp
from zdiag.kinds import systcpda_summary as sm
from zdiag.kinds.base import Accounting

STATS = sample_lines("statistics_detail_ibm_wscollapsed.txt")
STREAMS = sample_lines("streams_report_systcpis_session_block_wscollapsed.txt")
HEADER = sample_lines("header_component_trace_short_systcpis_stream.txt")
OPTION = sample_lines("option_report_systcpda_formatter_banner_wscollapsed.txt")
SESSION = sample_lines("seed004_session_detail_reset_ex1.txt")


def test_statistics_counters_and_key_tables():
    ts = zdiag.parse([SAMPLES / "statistics_detail_ibm_wscollapsed.txt"])
    f = ts["files"].iloc[0]
    assert (f["kind"], f["parsed"], f["unrecognised"]) == ("systcpda.report", 17, 0)
    st_ = ts["trace_stats"]
    counters = st_[st_["report"] == "SYSTCPDA Trace Statistics"].set_index("name")["value"]
    assert counters["ctrace records processed"] == 123
    assert counters["segmented trace records were lost"] == 0
    assert counters["packet trace records processed"] == 123 and len(counters) == 8
    rt = st_[(st_["report"] == "Record Type") & (st_["name"] == "row")].set_index("key")
    r = rt.loc["4(Packet Trace)"]
    assert (r["total"], r["input_count"], r["input_bytes"], r["output_count"]) == (58, 19, 1828, 39)
    assert (r["output_bytes"], r["first_nr"], r["last_nr"]) == (2840, 40, 117)
    assert (
        str(r["first_ts"]) == "2002-02-12 19:52:39" and str(r["last_ts"]) == "2002-02-12 19:56:29"
    )
    tot = st_[(st_["report"] == "Ip Version") & (st_["name"] == "total")].iloc[0]
    assert (tot["total"], tot["input_bytes"], tot["output_bytes"]) == (123, 5642, 3484)
    found = st_[st_["name"] == "Ip Version(s) found"].iloc[0]
    assert found["value"] == 2
    assert st_[st_["report"] == "Device Type"]["key"].tolist() == ["34(Loopback)"]


def test_streams_block():
    ts = zdiag.parse([SAMPLES / "streams_report_systcpis_session_block_wscollapsed.txt"])
    f = ts["files"].iloc[0]
    assert (f["kind"], f["unrecognised"]) == ("systcpda.report", 0)
    s = ts["streams"].iloc[0]
    assert (s["ip_a"], s["port_a"], s["ip_b"], s["port_b"], s["protocol"]) == (
        "9.32.74.253", 0, "9.42.104.38", 0, "ICMP")  # fmt: skip
    assert s["packets"] == 2 and str(s["first_ts"]) == "2002-11-20 18:00:06.827658"
    assert str(s["last_ts"]) == "2002-11-20 18:00:07.149355"
    c = ts["trace_stats"].set_index("name")["value"]
    assert c["Streams found"] == 2618
    assert c["bytes of storage for buffers was allocated"] == 348160


def test_header_and_option_echo_are_layout():
    for name, lines in (("header", HEADER), ("option", OPTION)):
        acct = Accounting(len(lines))
        acct.layout([i for i, ln in enumerate(lines) if not ln.strip()])
        out = rp.parse(lines, acct)
        c = acct.counts()
        assert c["unrecognised"] == 0, name
        assert c["parsed"] == (1 if name == "header" else 0)  # `2618 Streams found`
        assert set(out) <= {"trace_stats"}


def test_detection_by_content():
    assert registry.detect_lines(STATS)[0].name == "systcpda.report"
    assert registry.detect_lines(OPTION)[0].name == "systcpda.report"
    # a SESSION report under an IPCS header still goes to systcpda.session
    assert registry.detect_lines(HEADER + SESSION)[0].name == "systcpda.session"
    # a SUMMARY listing followed by STATISTICS is a summary; its statistics are read too
    summary = sample_lines("summary_ftp_ibm_fig1.txt")
    lines = HEADER[:14] + summary + STATS
    assert registry.detect_lines(lines)[0].name == "systcpda.summary"
    acct = Accounting(len(lines))
    acct.layout([i for i, ln in enumerate(lines) if not ln.strip()])
    out = sm.parse(lines, acct)
    assert acct.counts()["unrecognised"] == 0
    assert len(out["packets"]) == 6 and len(out["trace_stats"]) == 17


RULE_LINES = {
    "counter_line": [ln for ln in STATS + STREAMS if ln.split(" ")[0].isdigit()
                     and ("found" in ln or "processed" in ln or "allocated" in ln)],
    "key_row": [ln for ln in STATS if ln.count("/") == 4 and ln[0].isdigit()],
    "key_total": [ln for ln in STATS if ln.endswith(" Total")],
    "key_heading": [ln for ln in STATS if ln.startswith("Total Input")],
    "stream_session": [without_callout(ln) for ln in STREAMS if "Session:" in ln],
    "stream_period": [ln for ln in STREAMS if ln.startswith("From:")],
}  # fmt: skip


@pytest.mark.parametrize("rule", sorted(RULE_LINES))
def test_section_rules_agree_with_lark(rule):
    assert RULE_LINES[rule]
    for ln in RULE_LINES[rule]:
        text = without_callout(ln) if rule == "counter_line" and ln[1:2] == " " else ln
        if rule == "counter_line" and not text.split(" ")[0].isdigit():
            continue
        by_lark, by_regex = lark_vs_regex(common.GRAMMAR, rule, text)
        assert by_lark == by_regex, ln


POOL = STATS + STREAMS + HEADER + OPTION + ["garbage", "", "From: 2002/11/20 18:00:06 to:"]


@settings(max_examples=150, deadline=None)
@given(mixed_lines(POOL))
def test_any_mix_of_lines_is_fully_accounted(lines):
    accounted(rp.parse, lines)
