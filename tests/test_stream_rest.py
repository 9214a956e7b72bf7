"""systcpda.format, trmdstat, config.ftpdata and config.profile cut where the lines above a
cut matter give the same tables as one whole parse (the fixtures, glued fixtures and
generated reports of every streamed kind are in test_stream_kinds.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_stream_kinds import _accounted, _check, _cuts, _parse_both

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# ---- cuts where the lines above matter ------------------------------------------------

PROFILE = """\
; TCPIP PROFILE with every context a row needs from above
TCPCONFIG TCPSENDBFRSIZE 256K TCPRCVBUFRSIZE 256K
   FINWAIT2TIME 600
   TIMEWAITINTERVAL 30
GLOBALCONFIG SMCR PFID 0018 PORTNUM 1
   PFID 0019 PORTNUM 2 MTU 1024
   FIXEDMEMORY 200
BEGINROUTES
{routes}ENDROUTES
PORT
{ports}HOME
   10.1.1.1  OSAQDIO1
ARPAGE 20
"""


def _profile_text(n: int) -> str:
    routes = "".join(f"  ROUTE 10.{i // 250}.{i % 250}.0/24 10.0.0.1 OSAQDIO1 MTU 1492\n"
                     for i in range(n))  # fmt: skip
    ports = "".join(f"   {2000 + i} TCP FTPD{i}   ; FTP server\n" for i in range(n))
    return PROFILE.format(routes=routes, ports=ports) * 3


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(chunk=st.integers(min_value=40, max_value=3_000))
def test_profile_blocks_lists_and_operands_across_any_cut(chunk, tmp_path, monkeypatch):
    path = tmp_path / "profile.txt"
    if not path.exists():
        path.write_text(_profile_text(30), encoding="utf-8")
    whole, parts = _parse_both(path, "config.profile", monkeypatch, chunk)
    _check(whole, parts, 100)
    _accounted(parts)


def test_profile_cut_inside_a_block_keeps_its_members(tmp_path, monkeypatch):
    path = tmp_path / "profile.txt"
    path.write_text(_profile_text(200), encoding="utf-8")
    assert _cuts(path, "config.profile", 2_000) > 10
    whole, parts = _parse_both(path, "config.profile", monkeypatch, 2_000)
    _check(whole, parts, 1000)
    c = parts["config"]
    routes = c[c["block"] == "BEGINROUTES"]
    assert len(routes) == 3 * 200 and (routes["statement"] == "ROUTE").all()
    ports = c[(c["block"] == "PORT") & (c["statement"] == "PORT")]
    assert len(ports) == 3 * 200 and c["note"].isna().all()
    fin = c[c["statement"] == "FINWAIT2TIME"]
    assert (fin["block"] == "TCPCONFIG").all() and (fin["value_num"] == 600).all()
    mtu = c[c["statement"] == "MTU"]
    assert (mtu["block"] == "GLOBALCONFIG SMCR").all()


POLICY = """\
TTLSRule                          TN3270Rule{n}
{{
  LocalPortRange                  {port}
  Direction                       Inbound
  TTLSGroupActionRef              GroupAct1
}}
TTLSGroupAction                   GroupAct1
{{
  TTLSEnabled                     On
}}
"""


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(chunk=st.integers(min_value=30, max_value=1_500))
def test_policy_nesting_across_any_cut(chunk, tmp_path, monkeypatch):
    path = tmp_path / "policy.txt"
    if not path.exists():
        text = "".join(POLICY.format(n=i, port=23 + i) for i in range(40))
        path.write_text(text, encoding="utf-8")
    whole, parts = _parse_both(path, "config.profile", monkeypatch, chunk)
    _check(whole, parts, 100)
    c = parts["config"]
    assert (c["kind"] == "policy").all()
    assert (c.loc[c["statement"] == "DIRECTION", "block"].str.startswith("TTLSRule")).all()


TRMD_G = (ROOT / "fixtures" / "messages"
          / "trmdstat_G_global_stall_summary_v2r1_wscollapsed.txt")  # fmt: skip


def test_trmdstat_connections_section_and_report_across_cuts(tmp_path, monkeypatch):
    lines = TRMD_G.read_text(encoding="utf-8").splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.startswith("Remote IP Address"))
    rows = [f"10.{i // 250}.{i % 250}.1 {i}" for i in range(400)]
    path = tmp_path / "trmd.txt"
    path.write_text("\n".join(lines[: at + 2] + rows) + "\n", encoding="utf-8")
    assert _cuts(path, "trmdstat", 1_000) > 5
    whole, parts = _parse_both(path, "trmdstat", monkeypatch, 1_000)
    _check(whole, parts, 400)
    m = parts["messages"]
    reset = m[m["event"] == "connections"]
    assert len(reset) == 400 and (reset["msg_id"] == "EZZ8674I").all()
    assert (m["report"] == "-G").all()


def test_format_date_line_above_a_cut_dates_the_records_below(tmp_path, monkeypatch):
    src = ROOT / "fixtures" / "systcpda" / "format_udp_dns_callouts.txt"
    # without its Tod Clock line a record is dated by the last `**** yyyy/mm/dd` line
    body = [ln for ln in src.read_text(encoding="utf-8").splitlines()
            if not ln.startswith("#zdiag-sample") and "Tod Clock" not in ln]  # fmt: skip
    text = "**** 2024/03/05\n" + "\n".join(body * 30) + "\n"
    path = tmp_path / "fmt.txt"
    path.write_text(text, encoding="utf-8")
    assert _cuts(path, "systcpda.format", 1_000) > 10
    whole, parts = _parse_both(path, "systcpda.format", monkeypatch, 1_000)
    _check(whole, parts, 30)
    p = parts["packets"]
    assert len(p) == 30
    assert (p["ts"].dt.date == pd.Timestamp("2024-03-05").date()).all()
