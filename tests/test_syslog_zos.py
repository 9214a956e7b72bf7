"""syslog.zos: message-log layouts, multi-line joins and message templates."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tools.accounting import parse_accounted

import zdiag
from zdiag.kinds import messages_common as mc
from zdiag.kinds import syslog_zos as sz
from zdiag.kinds.registry import detect_lines

ROOT = Path(__file__).resolve().parents[1]
MSG = ROOT / "fixtures" / "messages"
READING = ROOT / "fixtures" / "reading" / "messages"


def parse_text(tmp_path, text: str, name: str = "log.txt"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return zdiag.parse([p])


def test_ezz8672i_manual_example_three_lines_one_row():
    ts = zdiag.parse([MSG / "seed002_ezz8672i_example.txt"])
    m = ts["messages"]
    assert len(m) == 1 and ts["files"].iloc[0]["unrecognised"] == 0
    r = m.iloc[0]
    assert (r["msg_id"], r["prefix"], r["severity"]) == ("EZZ8672I", "EZZ", "I")
    assert (r["totalconn"], r["stalledpct"], r["smallwinpct"], r["writeblkpct"]) == (
        1000, 25, 25, 10)  # fmt: skip
    assert r["duration_s"] == 312.0 and r["action"] == "resetconn"
    assert r["correlator"] == 151 and r["probeid"] == "040B0002"
    assert r["sensorhostname"] == "HOST1.COMPANYA.COM"
    assert str(r["ts"]) == "2010-06-09 17:11:28.550000"
    assert str(m["totalconn"].dtype) == "Int64" and str(m["duration_s"].dtype) == "Float64"


def test_jes2_multiline_joined_by_connect_id_not_adjacency(tmp_path):
    text = (
        " M 4000000 SYSA     24150 10:00:00.01 STC01234 00000090  EZZ4313I INITIALIZATION"
        " COMPLETE 201\n"
        " N 0000000 SYSA     24150 10:00:00.02          00000290  IEE389I MVS COMMAND"
        " PROCESSING AVAILABLE\n"
        " E                                         201 00000090      FOR TCPIP\n"
    )
    m = parse_text(tmp_path, text)["messages"]
    assert len(m) == 2
    first = m.iloc[0]
    assert first["text"] == "EZZ4313I INITIALIZATION COMPLETE FOR TCPIP"
    assert (first["host"], first["job"], first["multiline_id"]) == ("SYSA", "STC01234", "201")
    assert str(first["ts"]) == "2024-05-29 10:00:00.010000"  # yyddd 24150 = 29 May 2024
    assert m.iloc[1]["job"] is pd.NA and m.iloc[1]["msg_id"] == "IEE389I"


def test_jes2_sample_orphan_continuation_kept():
    m = zdiag.parse([MSG / "jes2_syslog_ipl_adcd_z111_hercules_mixed_records.txt"])["messages"]
    assert len(m) == 14
    assert m.iloc[0]["text"] == "DSNAME = *" and m.iloc[0]["multiline_id"] == "172"
    cmd = m[m["text"] == "START RACF,SUB=MSTR"].iloc[0]
    assert cmd["job"] == "INTERNAL" and cmd["msg_id"] is pd.NA
    assert m.loc[m.msg_id == "ICH531I", "text"].item().endswith("INTERFACE IS ACTIVE.")


def test_console_continuations_same_time_indented():
    m = zdiag.parse([MSG / "console_log_hhmmss_zos24_resolver_ezz9298i_ezy60xx.txt"])["messages"]
    irr = m[m.msg_id == "IRR812I"]
    assert irr.iloc[0]["text"].endswith("TO START VMCF WITH JOBNAME VMCF.")
    assert m.loc[m.msg_id == "IOEZ00397I", "prefix"].item() == "IOEZ"
    ezz = m[m.msg_id == "EZZ9298I"]
    assert ezz["setting"].tolist()[0] == "RESOLVERSETUP"
    assert str(m.iloc[0]["ts"]) == "1900-01-01 09:34:45"


def test_syslogd_rfc3164_year_from_dated_message(tmp_path):
    text = (
        "Oct 29 18:02:19 MVS1 TRMD.TCPCS[33554503]: EZZ8671I TRMD Global TCP Stall entered:"
        " 10/29/2011 18:02:19.08 totalconn= 1004 stalledpct= 50 smallwinpct= 49 writeblkpct= 0"
        " action= noresetconn correlator= 3 probeid= 040B0001 sensorhostname= MVS1.EXAMPLE.COM\n"
        "Oct 29 18:53:21 MVS1 TCPIP: EZZ4202I Z/OS UNIX - TCP/IP CONNECTION ESTABLISHED\n"
    )
    m = parse_text(tmp_path, text)["messages"]
    assert m["job"].tolist() == ["TRMD.TCPCS", "TCPIP"]
    assert m["pid"].tolist()[0] == 33554503 and m["host"].tolist() == ["MVS1", "MVS1"]
    assert str(m.iloc[1]["ts"]) == "2011-10-29 18:53:21"
    assert m.iloc[0]["correlator"] == 3 and m.iloc[0]["stalledpct"] == 50
    assert m.iloc[1]["template"] is pd.NA  # unknown id: a row, no typed fields


def test_syslogd_without_any_year_uses_1900(tmp_path):
    m = parse_text(tmp_path, "Feb  3 01:02:03 H1 PAGENT[9]: EZZ8771I PAGENT CONFIG POLICY\n")
    assert str(m["messages"].iloc[0]["ts"]) == "1900-02-03 01:02:03"


def test_ezz8673i_keywords_read_the_connection(tmp_path):
    # EZZ8673I's text was not seen; the template reads the TRMD keywords in any order
    text = (
        "EZZ8673I TRMD Global TCP Stall connection reset: 10/29/2011 18:02:19.08 connid= 0000"
        "00A1 jobname= APP1 lipaddr= 10.1.1.1 lport= 4000 ripaddr= ::ffff:10.11.2.1 rport= 1025"
        " correlator= 3 probeid= 040B0003 sensorhostname= MVS1\n"
    )
    r = parse_text(tmp_path, text)["messages"].iloc[0]
    # IPv4-mapped addresses keep their dotted tail (RFC 5952 §5), as netstat's rows do, so
    # that a message joins the connection it names
    assert (r["local_ip"], r["local_port"], r["remote_ip"], r["remote_port"]) == (
        "10.1.1.1", 4000, "::ffff:10.11.2.1", 1025)  # fmt: skip
    assert r["correlator"] == 3 and r["template"] == "EZZ8673I#1"


def test_ezd1287i_operlog_json_and_ezd1286i_syslog_order(tmp_path):
    m = zdiag.parse([MSG / "operlog_zosmf_json_ezd1287i_zowe_cli_fixture.txt"])["messages"]
    assert m["rc"].tolist() == [5004, 406] and m["job"].tolist() == ["TCP342", "TCP342"]
    assert m["remote_port"].tolist() == [8803, 8803] and m["host"].tolist() == ["P00", "P00"]
    text = (
        "EZD1286I TTLS Error GRPID: 00000002 ENVID: 00000000 CONNID: 0000003E LOCAL: "
        "10.1.1.2..21 REMOTE: 10.1.0.9..1032 JOBNAME: FTPD1 USERID: FTPUSR RULE: FtpRule "
        "RC: 5003 Data Encryption\n"
    )
    r = parse_text(tmp_path, text)["messages"].iloc[0]
    assert (r["rc"], r["local_port"], r["event"], r["jobname"]) == (
        5003, 21, "Data Encryption", "FTPD1")  # fmt: skip


def test_real_json_response(tmp_path):
    text = (
        '{"source":"OPERLOG","items":[{"jobName":"TCPIP   ","system":"SYS1","time":"Tue Aug 10'
        ' 06:16:35 GMT 2021","message":" EZZ4202I Z/OS UNIX - TCP/IP CONNECTION ESTABLISHED'
        ' FOR TCPIP"}]}\n'
    )
    m = parse_text(tmp_path, text)["messages"]
    assert m["msg_id"].tolist() == ["EZZ4202I"] and m["job"].tolist() == ["TCPIP"]


def test_netstat_with_message_ids_is_not_a_message_log():
    lines = [
        "EZZ2350I MVS TCP/IP NETSTAT CS V2R4       TCPIP Name: TCPIP           16:40:39",
        "EZZ2550I Client Name: CSQ9CHIN                 Client Id: 000000BB",
        "EZZ2551I Local Socket: 10.1.1.2..1414          Foreign Socket: 10.1.0.2..51844 ",
    ]
    assert sz.detect(lines) < 0.3


def test_reading_material_is_not_a_fixture_and_its_ids_have_templates():
    from tools.expected import fixture_inputs

    assert not any("reading" in p.parts for p in fixture_inputs())
    ids = set()
    for p in READING.glob("*template*.txt"):
        ids |= set(re.findall(r"^(EZ[A-Z]\d{4}I)\b", p.read_text(), re.M))
    assert {"EZZ8671I", "EZZ8672I", "EZD1286I", "EZD1284I", "EZZ9317I"} <= ids
    assert ids <= set(mc.templates())


def test_templates_compile_for_rust_and_python():
    for tpls in mc.templates().values():
        for t in tpls:
            for rx in [t.pattern] if t.pattern else [p for _, p in t.keyword_patterns]:
                re.compile(rx)
                pl.Series(["x"]).str.extract_groups(rx)


LAYOUT_LINES = [
    " N 0000000 SYSA     24150 10:00:00.02          00000290  IEE389I MVS COMMAND AVAILABLE",
    " M 4000000 SYSA     24150 10:00:00.01 STC01234 00000090  EZZ4313I INIT 7",
    " E                                         7 00000090      FOR TCPIP",
    "09:34:46  IRR812I PROFILE * (G) IN THE STARTED CLASS WAS USED",
    "09:34:46          TO START VMCF WITH JOBNAME VMCF.",
    "Oct 29 18:02:19 MVS1 TRMD.TCPCS[33554503]: EZZ8672I TRMD Global TCP Stall exited:",
    "EZZ6034I TNSERV11 CONN 00000011 LU **N/A** ACCEPTED 23",
    "IP..PORT: 1.12.13.14..456",
    "",
]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(LAYOUT_LINES), st.text(max_size=40)), max_size=30))
def test_every_line_accounted(lines):
    out, _ = parse_accounted(sz.parse, lines)
    if "messages" in out:
        m = out["messages"]
        assert m["line"].between(1, len(lines)).all()
        assert m["line"].is_unique


def test_detection_picks_syslog_for_message_logs():
    for name in ("seed002_ezz8672i_example.txt", "zowe_log_ezz2376i_ezz2377i_ezz2385i.txt",
                 "console_log_hhmmss_zos24_resolver_ezz9298i_ezy60xx.txt"):  # fmt: skip
        lines = (MSG / name).read_text().splitlines()
        kind, _ = detect_lines(lines)
        assert kind is not None and kind.name == "syslog.zos", name


def test_detection_of_several_logs_put_together():
    """An upload that joins a JES2 SYSLOG extract and a console capture: neither layout
    has the majority of the head, together they are a message log."""

    def body(name):
        return [ln for ln in (MSG / name).read_text().splitlines()
                if ln.strip() and not ln.startswith("#zdiag-sample")]  # fmt: skip

    jes2 = body("jes2_syslog_ipl_adcd_z111_hercules_mixed_records.txt")[:14]
    console = body("console_log_hhmmss_zos24_resolver_ezz9298i_ezy60xx.txt")[:17]
    assert len(jes2) == 14 and len(console) == 17  # 45% and 55%: below either's own bar
    for lines in (jes2 + console, console + jes2):
        kind, _ = detect_lines(lines)
        assert kind is not None and kind.name == "syslog.zos"


@pytest.mark.parametrize("n", [2000])
def test_many_messages_vectorised(tmp_path, n):
    body = "".join(
        f"EZZ8672I TRMD Global TCP Stall exited: 06/09/2010 17:11:{i % 60:02d}.55 totalconn={i}"
        f" stalledpct= 25 smallwinpct= 25 writeblkpct= 10 duration= {i} action= resetconn"
        f" correlator= {i} probeid= 040B0002 sensorhostname= H\n"
        for i in range(n)
    )
    m = parse_text(tmp_path, body)["messages"]
    assert len(m) == n and m["correlator"].sum() == sum(range(n))


def test_jes2_syslog_downloaded_in_binary_ebcdic(tmp_path):
    from zdiag.decode import ebcdic_encode

    src = MSG / "jes2_syslog_ipl_adcd_z111_hercules_mixed_records.txt"
    text = "\n".join(ln for ln in src.read_text().splitlines() if not ln.startswith("#")) + "\n"
    p = tmp_path / "syslog.bin"
    p.write_bytes(ebcdic_encode(text, "cp1047"))
    ts = zdiag.parse([p])
    f = ts["files"].iloc[0]
    assert (f["kind"], f["encoding"], f["unrecognised"]) == ("syslog.zos", "cp1047", 0)
    assert ts["messages"]["msg_id"].tolist()[-1] == "IEE727I"
