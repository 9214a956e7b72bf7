"""systcpda.format on the IP Diagnosis Guide's FORMAT figures (UDP/DNS, ICMP echo, data
trace), with the manual's figure callouts left in."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
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
from zdiag.kinds import systcpda_format as fm
from zdiag.kinds.base import Accounting

UDP = sample_lines("format_udp_dns_callouts.txt")
ICMP = sample_lines("format_icmp_echo_snalu62.txt")
DATA = sample_lines("format_datatrace_start_record_callouts.txt")


def test_udp_dns_record_with_callouts():
    ts = zdiag.parse([SAMPLES / "format_udp_dns_callouts.txt"])
    f = ts["files"].iloc[0]
    assert (f["kind"], f["unrecognised"]) == ("systcpda.format", 0)
    pk = ts["packets"]
    assert len(pk) == 1
    r = pk.iloc[0]
    assert (r["nr"], r["line"], r["sysname"], r["time"]) == (3, 5, "MVSJ", "23:39:11.873541")
    assert str(r["ts"]) == "2002-02-12 23:39:11.873539"  # the Tod Clock, which has the date
    assert (r["direction"], r["protocol"], r["link"], r["device"]) == (
        "out", "UDP", "TR1", "LCS Token Ring")  # fmt: skip
    assert (r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"]) == (
        "9.67.113.65", 1025, "9.37.80.3", 53)  # fmt: skip
    assert r["conn"] == "9.67.113.65:1025-9.37.80.3:53"
    assert (r["ip_id"], r["ip_id_text"], r["ip_len"], r["ttl"]) == (0x0E, "000E", 56, 64)
    assert (r["traced_len"], bool(r["truncated"]), r["data_len"]) == (56, False, 28)
    assert (r["app_protocol"], r["dns_id"]) == ("DNS", 40266)
    assert r["decode"].splitlines()[-1].split() == [";;", "w3.ibm.com", "IN", "AAAA"]
    assert "UDP.Datagram Length=36" in r["fields"] and "QOS=Routine Normal Service" in r["fields"]
    assert pd.isna(r["syn"])  # not a TCP packet: no TCP flags, not false ones


def test_icmp_echo_2001_layout():
    ts = zdiag.parse([SAMPLES / "format_icmp_echo_snalu62.txt"])
    assert ts["files"].iloc[0]["unrecognised"] == 0
    r = ts["packets"].iloc[0]
    assert (r["nr"], r["protocol"], r["direction"], r["link"]) == (19, "ICMP", "out", "SNALU62L")
    assert (r["icmp_type"], r["icmp_id"], r["icmp_seq"], r["data_len"]) == (
        "ECHO",
        4923,
        11849,
        248,
    )
    assert r["ip_id"] == 1543  # decimal in the 2001 layout (the one with `Lost Records`)
    assert pd.isna(r["src_ip"]) and pd.isna(r["src_port"]) and pd.isna(r["conn"])
    assert r["dump_hex"].startswith("B56D52DB47A07ACA") and len(r["dump_hex"]) == 3 * 32
    assert str(r["ts"]) == "2001-02-20 22:52:18.648743"


def test_data_trace_record():
    ts = zdiag.parse([SAMPLES / "format_datatrace_start_record_callouts.txt"])
    assert ts["files"].iloc[0]["unrecognised"] == 0 and "packets" not in ts
    r = ts["data_trace"].iloc[0]
    assert (r["nr"], r["job"], r["direction"], r["cid"]) == (63, "USER12", "out", "00000058")
    assert (r["domain"], r["socket_type"], r["protocol"]) == ("AF_Inet", "Stream", "TCP")
    assert (r["state"], r["traced_len"]) == ("API Data Flow Starts", 0)
    assert str(r["ts"]) == "2009-06-22 13:18:52.705248"


def test_split_fields_by_name_tokens():
    assert fm.split_fields("1025  ()         Destination Port:  53    (domain)") == (
        "1025  ()", [("Destination Port", "53    (domain)")])  # fmt: skip
    assert fm.split_fields("Offset: 0") == ("", [("Offset", "0")])
    assert fm.split_fields("2009/06/22 13:18:52.705248     Cid: 00000058") == (
        "2009/06/22 13:18:52.705248", [("Cid", "00000058")])  # fmt: skip
    assert fm.split_fields("TR1   Device: LCS Token Ring   Full=56") == (
        "TR1", [("Device", "LCS Token Ring"), ("Full", "56")])  # fmt: skip
    assert fm.split_fields(None) == ("", [])


def test_callout_retry_never_changes_a_line_that_reads_as_it_stands():
    # `1 Streams Report`-like callouts are removed only when nothing reads the line as is
    lines = ["    3 MVSJ     PACKET   00000001 23:39:11.873541 Packet Trace",
             " 1   3 MVSJ     PACKET   00000001 23:39:11.873541 Packet Trace"]  # fmt: skip
    acct = Accounting(2)
    pk = fm.parse(lines, acct)["packets"]
    assert acct.counts()["parsed"] == 2 and pk["nr"].tolist() == [3, 3]


def test_field_lines_before_any_record_are_unrecognised():
    acct = Accounting(2)
    fm.parse(["  Tod Clock        : 2002/02/12 23:39:11.873539", "000000 B56D52DB"], acct)
    assert acct.counts()["unrecognised"] == 2 and "before any record" in acct.reasons[0]


def test_two_records_and_a_date_line():
    lines = ["**** 2002/02/12"] + [ln for ln in UDP if "Tod Clock" not in ln] + ICMP
    acct = Accounting(len(lines))
    acct.layout([i for i, ln in enumerate(lines) if not ln.strip()])
    pk = fm.parse(lines, acct)["packets"]
    assert acct.counts()["unrecognised"] == 0
    assert pk["nr"].tolist() == [3, 19] and pk["protocol"].tolist() == ["UDP", "ICMP"]
    # no Tod Clock: the header time on the date of the `****` line
    assert str(pk["ts"].iloc[0]) == "2002-02-12 23:39:11.873541"


def test_detection():
    for lines in (UDP, ICMP, DATA):
        assert registry.detect_lines(lines)[0].name == "systcpda.format"


# ---- the fast path is the grammar: Lark reads each line the same ------------------------
def _lines_of(rule: str) -> list[str]:
    out = []
    for ln in UDP + ICMP + DATA:
        text = without_callout(ln) if ln[:3].strip().isdigit() and " " in ln[:3] else ln
        hits = fm.common.match_rules(fm.common.series([text]), fm.GRAMMAR, (rule,), [0])
        if rule in hits:
            out.append(text)
    return out


@pytest.mark.parametrize("rule", ["record_header", "field_line", "hex_line", "decode_line",
                                  "proto_line"])  # fmt: skip
def test_format_rules_agree_with_lark(rule):
    lines = _lines_of(rule)
    assert lines, f"no sample line for {rule}"
    for ln in lines:
        by_lark, by_regex = lark_vs_regex(fm.GRAMMAR, rule, ln)
        assert by_lark == by_regex, ln


POOL = UDP + ICMP + DATA + ["garbage", "", "**** 2002/02/12", "=" * 79, "UDP", "DNS: 28"]


@settings(max_examples=150, deadline=None)
@given(mixed_lines(POOL))
def test_any_mix_of_lines_is_fully_accounted(lines):
    accounted(fm.parse, lines)


def test_abbreviated_inbound_record():
    # `Abbrev=<n>` (FORMATS.md §2: packet traced truncated) and a `From` trace header
    lines = [ln.replace("Full=56", "Abbrev=40").replace("To Interface", "From Interface")
             for ln in UDP]  # fmt: skip
    acct = Accounting(len(lines))
    acct.layout([i for i, ln in enumerate(lines) if not ln.strip()])
    r = fm.parse(lines, acct)["packets"].iloc[0]
    assert acct.counts()["unrecognised"] == 0
    assert (r["traced_len"], bool(r["truncated"]), r["direction"]) == (40, True, "in")
    # inbound: the local end is the destination
    assert (r["local_ip"], r["local_port"], r["remote_port"]) == ("9.37.80.3", 53, 1025)


def test_polars_field_split_agrees_with_the_reference():
    lines = _lines_of("field_line")
    hits = fm.common.match_rules(fm.common.series(lines), fm.GRAMMAR, ("field_line",),
                                 list(range(len(lines))))  # fmt: skip
    idx, frame = hits["field_line"]
    ev = pl.DataFrame({"idx": idx, "rec": [0] * len(idx), "kind": ["field_line"] * len(idx),
                       "block": ["trace"] * len(idx),
                       "label": frame["label"].str.replace(r"^IpHeader:\s*", ""),
                       "rest": frame["rest"].fill_null("")})  # fmt: skip
    table = fm._field_table(ev)
    for i, rest in zip(idx, frame["rest"].to_list(), strict=True):
        got = table.filter(pl.col("idx") == i).sort("pos")
        value, more = fm.split_fields(rest)
        assert got["value"].to_list() == [value] + [v for _, v in more]
        assert got["name"].to_list()[1:] == [n for n, _ in more]


@pytest.mark.parametrize("crlf", [False, True])
def test_cut_points_are_the_record_headers_the_grammar_reads(crlf):
    """``CHUNK_AT`` (where a large report is cut) is derived from the grammar's
    ``record_header``: it finds exactly the lines that rule reads, with or without a figure
    callout before them, also in CRLF text."""
    import re
    from pathlib import Path

    from zdiag.grammar import MATCH_GROUP, extract, row_regex

    pattern = row_regex(fm.GRAMMAR, "record_header")
    for path in sorted(Path("fixtures/systcpda").glob("format_*.txt")):
        lines = path.read_text().splitlines()
        data = ("\r\n" if crlf else "\n").join(lines).encode() + b"\n"
        starts = np.cumsum([0] + [len(ln) + (2 if crlf else 1) for ln in lines])
        found = {int(np.searchsorted(starts, m.start())) for m in fm.CHUNK_AT.finditer(data)}
        plain = [re.sub(r"^([ \t]*)\d[ \t]+(?=\d)", r"\1", ln) for ln in lines]  # callouts
        hit = (extract(lines, pattern)[MATCH_GROUP].is_not_null()
               | extract(plain, pattern)[MATCH_GROUP].is_not_null())  # fmt: skip
        want = set(np.flatnonzero(hit.to_numpy()).tolist())
        assert want, path.name
        assert found == want, path.name
