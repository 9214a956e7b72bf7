"""config.profile: TCPIP PROFILE statements, blocks, operand lists; Policy Agent blocks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from tools.accounting import parse_accounted

import zdiag
from zdiag.kinds import config_profile as cp

ROOT = Path(__file__).resolve().parents[1]
CFG = ROOT / "fixtures" / "config"


def parse_text(tmp_path, text: str):
    p = tmp_path / "PROFILE.txt"
    p.write_text(text, encoding="utf-8")
    return zdiag.parse([p], kind="config.profile")


def rows(c: pd.DataFrame) -> list[tuple]:
    return list(zip(c["block"].fillna(""), c["statement"], c["value"].fillna(""), strict=True))


def test_tcpconfig_globalconfig_continuation_and_keepalive(tmp_path):
    text = (
        "TCPCONFIG FINWAIT2TIME 600 TCPTIMESTAMP   ; timers\n"
        "          TTLS\n"
        "  KEEPALIVEOPTIONS INTERVAL 120 SENDGARBAGE FALSE ENDKEEPALIVEOPTIONS\n"
        "GLOBALCONFIG SMCD FIXEDMEMORY 1000\n"
        "   SMCR PFID 203 PFID 205 FIXEDMEMORY 1000\n"
        "IPCONFIG DATAGRAMFWD SOURCEVIPA\n"
        "INCLUDE TCPIP.PROFILE(PORTS)\n"
    )
    ts = parse_text(tmp_path, text)
    c = ts["config"]
    assert ts["files"].iloc[0]["unrecognised"] == 0
    got = rows(c)
    assert ("TCPCONFIG", "FINWAIT2TIME", "600") in got
    assert ("TCPCONFIG", "TCPTIMESTAMP", "") in got and ("TCPCONFIG", "TTLS", "") in got
    assert ("KEEPALIVEOPTIONS", "INTERVAL", "120") in got
    assert ("KEEPALIVEOPTIONS", "SENDGARBAGE", "FALSE") in got
    assert ("GLOBALCONFIG", "SMCD", "") in got and ("GLOBALCONFIG", "SMCR", "") in got
    assert ("GLOBALCONFIG SMCD", "FIXEDMEMORY", "1000") in got
    assert ("GLOBALCONFIG SMCR", "PFID", "203") in got and (
        "GLOBALCONFIG SMCR",
        "PFID",
        "205",
    ) in got
    assert ("IPCONFIG", "SOURCEVIPA", "") in got
    fin = c[c.statement == "FINWAIT2TIME"].iloc[0]
    assert (fin["value_num"], fin["unit"]) == (600.0, "s")
    iv = c[c.statement == "INTERVAL"].iloc[0]
    assert (iv["value_num"], iv["unit"]) == (7200.0, "s")  # minutes as written
    inc = c[c.statement == "INCLUDE"].iloc[0]
    assert inc["value"] == "TCPIP.PROFILE(PORTS)" and "not followed" in inc["note"]
    assert c.loc[c.statement == "SMCR", "line"].item() == 5


def test_keywords_any_case(tmp_path):
    c = parse_text(tmp_path, "tcpconfig restrictlowports finwait2time 300\n")["config"]
    assert rows(c) == [("TCPCONFIG", "RESTRICTLOWPORTS", ""), ("TCPCONFIG", "FINWAIT2TIME", "300")]


def test_bad_number_reported_not_crashed(tmp_path):
    ts = parse_text(tmp_path, "TCPCONFIG FINWAIT2TIME abc RESTRICTLOWPORTS\n")
    c = ts["config"]
    row = c[c.statement == "FINWAIT2TIME"].iloc[0]
    assert row["value"] == "abc" and pd.isna(row["value_num"])
    assert "needs a number" in ts["unrecognised"]["reason"].item()


def test_samprof_site_profile():
    ts = zdiag.parse([CFG / "profile_tcpip_samprof_site_claw_zos1x.txt"])
    c = ts["config"]
    assert ts["files"].iloc[0]["unrecognised"] == 0
    got = rows(c)
    assert ("TCPCONFIG", "TCPSENDBFRSIZE", "64K") in got
    assert c.loc[c.statement == "TCPSENDBFRSIZE", "value_num"].item() == 65536.0
    assert ("TCPCONFIG", "RESTRICTLOWPORTS", "") in got  # TCPCONFIG given twice: accumulate
    assert ("BEGINROUTES", "ROUTE", "DEFAULT                 172.19.154.8   SM03CIP   MTU 4096 "
            "REPL") in got  # fmt: skip
    assert ("AUTOLOG", "FTP", "JOBNAME FTP1") in got and (
        "HOME",
        "HOME",
        "172.19.154.193 SM03CIP",
    ) in got
    ports = c[c.block == "PORT"]
    assert len(ports) == 29 and ("PORT", "PORT", "751 TCP ADM@SRV") in got
    assert not c["statement"].str.startswith(";").any()


def test_fragment_port_entry_and_vipadynamic():
    c = zdiag.parse([CFG / "profile_fragment_port_bind_vipadynamic_hercules_209.txt"])["config"]
    assert rows(c) == [("PORT", "PORT", "3023 TCP TN3270A   SHAREPORTWLM BIND 10.0.0.23"),
                       ("VIPADYNAMIC", "VIPARANGE", "255.255.255.255 10.0.0.23")]  # fmt: skip


def test_policy_agent_blocks():
    c = zdiag.parse([CFG / "attls_policy_ttlsrule_groups_v2r1.txt"])["config"]
    assert set(c["kind"]) == {"policy"}
    got = rows(c)
    assert ("TTLSRule ttlsRule1", "TTLSGROUPACTIONREF", "ttlsAction7") in got
    assert ("PortGroup portGroup1 / PortRange", "PORT", "21") in got
    odd = c[c.statement == "PORTGROUP2"].iloc[0]  # the manual's own typo, reported
    assert odd["note"] == "top-level statement without a name"


def test_detect_rejects_netstat_devlinks():
    lines = ["MVS TCP/IP Netstat V2R2.1", "Device CIP1 Type: CLAW Status: Ready",
             "Link CHIP1 Type: IP Net number: 1"]  # fmt: skip
    assert cp.detect(lines) == 0.0
    assert cp.detect(["TCPCONFIG RESTRICTLOWPORTS", "PORT", "  21 TCP FTPD1"]) > 0.5


LINES = ["TCPCONFIG FINWAIT2TIME 600", "  TTLS", "PORT", "  21 TCP FTPD1 ; ftp", "",
         "BEGINRoutes", " ROUTE DEFAULT 10.0.0.1 OSA1 MTU 1492", "ENDRoutes", "; comment",
         "GLOBALCONFIG SMCR PFID 0018", "INCLUDE X.Y(Z)", "{", "}", "KEEPALIVEOPTIONS"]  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(LINES), st.text(max_size=30)), max_size=25))
def test_every_line_accounted(lines):
    out, _ = parse_accounted(cp.parse, lines)
