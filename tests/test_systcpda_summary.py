"""systcpda.summary on the IP Diagnosis Guide's SUMMARY figure and EXPORT(SUMMARY) CSV."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from systcpda_helpers import SAMPLES, accounted, lark_vs_regex, mixed_lines, sample_lines

import zdiag
from zdiag.grammar import MATCH_GROUP, extract, row_regex
from zdiag.kinds import registry
from zdiag.kinds import systcpda_summary as sm
from zdiag.kinds.base import Accounting

SUMMARY = sample_lines("summary_ftp_ibm_fig1.txt")
EXPORT = sample_lines("export_summary_csv_ipv4_ipv6.txt")


def test_summary_record_4_and_the_listing():
    ts = zdiag.parse([SAMPLES / "summary_ftp_ibm_fig1.txt"])
    f = ts["files"].iloc[0]
    assert (f["kind"], f["parsed"], f["unrecognised"]) == ("systcpda.summary", 12, 0)
    pk = ts["packets"].set_index("nr")
    assert list(pk.index) == [1, 2, 3, 4, 5, 6]
    r = pk.loc[4]
    assert (r["direction"], r["protocol"], r["tcp_flags"], r["data_len"]) == ("in", "TCP", "AP", 47)
    assert bool(r["ack"]) and bool(r["psh"]) and not r["syn"] and not r["fin"]
    assert (r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"]) == (
        "192.168.248.44", 5000, "10.7.1.61", 3470)  # fmt: skip
    assert (r["local_ip"], r["local_port"], r["remote_ip"], r["remote_port"]) == (
        "10.7.1.61", 3470, "192.168.248.44", 5000)  # fmt: skip
    assert (r["seq"], r["ack_num"], r["window"], r["ip_id"]) == (
        3454024896, 1452693654, 32768, 0x4E3D)  # fmt: skip
    assert str(r["ts"]) == "2004-01-26 14:18:01.111074"
    assert (r["data_hex"], r["data_ebcdic"], r["data_ascii"]) == (
        "3232302D 2057656C", ".......%", "220- Wel")  # fmt: skip
    assert r["line"] == 16
    # the whole conversation is one connection, seen from the traced (local) host
    assert pk["conn"].unique().tolist() == ["10.7.1.61:3470-192.168.248.44:5000"]
    assert pk.loc[1, "direction"] == "out" and pk.loc[1, "syn"] and not pk.loc[1, "ack"]
    assert pk.loc[2, "tcp_flags"] == "AS" and pk.loc[6, "window"] == 32703
    assert pk["data_hex"].isna().sum() == 4


def test_export_csv_folded_records():
    ts = zdiag.parse([SAMPLES / "export_summary_csv_ipv4_ipv6.txt"])
    f = ts["files"].iloc[0]
    assert (f["kind"], f["parsed"], f["layout"], f["unrecognised"]) == (
        "systcpda.summary", 18, 8, 0)  # fmt: skip
    pk = ts["packets"].set_index("nr")
    assert list(pk.index) == [1, 29, 37, 40, 41, 42]
    r = pk.loc[1]
    assert (r["direction"], r["protocol"], r["src_ip"], r["src_port"], r["dst_port"]) == (
        "in", "UDP", "9.67.115.17", 137, 137)  # fmt: skip
    assert (r["ip_id"], r["ip_len"], r["proto_len"], r["device"]) == (17158, 78, 58, "OSAQDIOLINK")
    assert r["conn"] == "9.67.115.63:137-9.67.115.17:137" and r["line"] == 9
    r = pk.loc[40]
    assert r["direction"] == "out" and r["src_ip"] == "fec9:c2d4::6:2900:edc:217c"
    assert (r["src_port"], r["dst_port"], r["local_port"]) == (32810, 33435, 32810)
    assert r["delta_s"] == pytest.approx(5.50026) and r["rel_s"] == pytest.approx(176.496595)
    assert str(r["ts"]) == "1900-01-01 19:52:39.284802"
    icmp = pk.loc[29]
    assert icmp["protocol"] == "ICMP" and pd.isna(icmp["src_port"])
    assert icmp["conn"] == "9.67.115.5-9.67.115.69"
    assert pk.loc[41, "protocol"] == "ICMPv6" and pk.loc[41, "dst_ip"] == "ff02::1:ff15:17"


def test_export_csv_one_line_per_record_reads_the_same():
    recs, cur = [], []
    for ln in EXPORT:
        cur.append(ln.strip())
        if not ln.rstrip().endswith(","):
            recs.append(" ".join(cur))
            cur = []
    acct = Accounting(len(recs))
    one = sm.parse(recs, acct)["packets"]
    acct2 = Accounting(len(EXPORT))
    folded = sm.parse(EXPORT, acct2)["packets"]
    cols = ["nr", "direction", "src_ip", "dst_ip", "src_port", "ip_id", "ts"]
    assert one[cols].equals(folded[cols]) and acct.counts()["unrecognised"] == 0


def test_date_line_and_midnight():
    lines = ["**** 2004/01/26"] + [
        "OT    1 23:59:59.900000 19E6 1452693653          0 32768 SYN                  0 10.7.1.61-3470",
        "                                                                                192.168.248.44-5000",
        "IT    2 00:00:00.100000 4E3C 3454024895 1452693654 32768 ACK SYN              0 192.168.248.44-5000",
        "                                                                                10.7.1.61-3470",
    ]  # fmt: skip
    acct = Accounting(len(lines))
    pk = sm.parse(lines, acct)["packets"]
    assert acct.counts() == {"parsed": 4, "layout": 1, "unrecognised": 0}
    assert [str(t) for t in pk["ts"]] == [
        "2004-01-26 23:59:59.900000",
        "2004-01-27 00:00:00.100000",
    ]


def test_without_date_line_1900():
    rows = [ln for ln in SUMMARY if not ln.startswith("****")]
    acct = Accounting(len(rows))
    pk = sm.parse(rows, acct)["packets"]
    assert str(pk["ts"].iloc[0]) == "1900-01-01 14:18:00.447462"


def test_record_without_tcp_columns_is_tolerated():
    # no published figure shows a non-TCP SUMMARY record; summary_row_short reads one that
    # keeps the lead-in and tail columns (documented as unconfirmed in the grammar)
    lines = ["IU    7 14:18:02.000000 1A47                                      36 10.7.1.61-1025",
             "                                                                   9.37.80.3-53"]  # fmt: skip
    acct = Accounting(len(lines))
    pk = sm.parse(lines, acct)["packets"]
    assert acct.counts()["parsed"] == 2
    r = pk.iloc[0]
    assert (r["protocol"], r["direction"], r["data_len"], r["dst_port"]) == ("UDP", "in", 36, 53)
    assert pd.isna(r["seq"]) and pd.isna(r["syn"])


def test_orphan_destination_line_is_unrecognised_with_reason():
    lines = [
        "                                                                                10.7.1.61-3470"
    ]
    acct = Accounting(1)
    sm.parse(lines, acct)
    assert acct.counts()["unrecognised"] == 1 and "destination" in acct.reasons[0]


def test_detection_picks_summary_not_session():
    k, _ = registry.detect_lines(SUMMARY)
    assert k.name == "systcpda.summary"
    k, _ = registry.detect_lines(EXPORT)
    assert k.name == "systcpda.summary"


# ---- the fast path is the grammar: Lark reads each row the same -------------------------
RECORD_ROWS = [ln for ln in SUMMARY if ln[:2] in ("OT", "IT")]
DEST_ROWS = [ln for ln in SUMMARY if ln.startswith("      ") and ln.strip()]


@pytest.mark.parametrize("row", RECORD_ROWS)
def test_summary_row_agrees_with_lark(row):
    by_lark, by_regex = lark_vs_regex(sm.GRAMMAR, "summary_row", row)
    assert by_lark == by_regex and by_regex["dp"] in ("OT", "IT")


@pytest.mark.parametrize("row", DEST_ROWS)
def test_summary_dest_agrees_with_lark(row):
    by_lark, by_regex = lark_vs_regex(sm.GRAMMAR, "summary_dest", row)
    assert by_lark == by_regex and "dst_port" in by_regex


def test_summary_row_short_and_heading_agree_with_lark():
    row = "IU    7 14:18:02.000000 1A47      36 10.7.1.61-1025"
    by_lark, by_regex = lark_vs_regex(sm.GRAMMAR, "summary_row_short", row)
    assert by_lark == by_regex == {"dp": "IU", "nr": "7", "time": "14:18:02.000000",
                                   "ip_id": "1A47", "data_len": "36", "src_ip": "10.7.1.61",
                                   "src_port": "1025"}  # fmt: skip
    heading = next(ln for ln in SUMMARY if ln.startswith("DP"))
    assert lark_vs_regex(sm.GRAMMAR, "summary_heading", heading) == ({}, {})


def _csv_records() -> list[str]:
    recs, cur = [], []
    for ln in EXPORT:
        cur.append(ln.strip())
        if not ln.rstrip().endswith(","):
            recs.append(" ".join(cur))
            cur = []
    return recs


@pytest.mark.parametrize("rec", _csv_records()[1:])
def test_export_row_agrees_with_lark(rec):
    by_lark, by_regex = lark_vs_regex(sm.GRAMMAR, "export_row", rec)
    assert by_lark == by_regex and by_regex["q_flags"].startswith('"')


def test_export_heading_agrees_with_lark():
    by_lark, by_regex = lark_vs_regex(sm.GRAMMAR, "export_heading", _csv_records()[0])
    assert by_lark == by_regex and by_regex["q_flags_heading"] == '"Flags "'


def test_summary_row_needs_blanks_between_numbers():
    bad = "OT    1 14:18:00.447462 19E6 1452693653 32768 SYN                  0 10.7.1.61-3470"
    got = extract([bad], row_regex(sm.GRAMMAR, "summary_row"))
    assert got[MATCH_GROUP][0] is None


# ---- any shuffle / duplication / truncation stays accounted and never raises ------------
POOL = SUMMARY + EXPORT + ["garbage", "", "**** 2004/02/01", "OT 1 x"]


@settings(max_examples=150, deadline=None)
@given(mixed_lines(POOL))
def test_any_mix_of_lines_is_fully_accounted(lines):
    accounted(sm.parse, lines)


def test_lark_listing_rule_reads_the_same_records():
    """The naive baseline (Lark over the whole listing) and the fast path agree."""
    from zdiag.grammar import lark_parser

    text = "\n".join(SUMMARY[5:]) + "\n"
    tree = lark_parser(sm.GRAMMAR, start="summary_listing").parse(text)
    rows = [c for c in tree.children if c.data == "summary_row"]
    nrs = [int(next(t for t in r.children if t.type == "NR")) for r in rows]
    acct = Accounting(len(SUMMARY))
    pk = sm.parse(SUMMARY, acct)["packets"]
    assert nrs == pk["nr"].tolist() == [1, 2, 3, 4, 5, 6]
