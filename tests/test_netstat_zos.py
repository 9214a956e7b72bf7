"""netstat.zos on the real layouts in fixtures/netstat (and small texts built from them)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tools.samples import parse_text, sample_lines

import zdiag
from zdiag.kinds import netstat_common as nc
from zdiag.kinds.registry import detect_lines
from zdiag.pipeline import parse_source
from zdiag.sources import Source

ROOT = Path(__file__).resolve().parents[1]
NS = ROOT / "fixtures" / "netstat"
KEY = ["stack", "local_ip", "local_port", "remote_ip", "remote_port"]

#: title and headings exactly as in uss_netstat_conn_short_v2r5_wmlz.txt / ..._liberty.txt
TITLE = "MVS TCP/IP NETSTAT CS V2R5       TCPIP Name: TCPIP           {}"
SHORT_HEAD = [
    "User Id  Conn     Local Socket           Foreign Socket         State",
    "-------  ----     ------------           --------------         -----",
]
LONG_HEAD = ["User Id  Conn     State", "-------  ----     -----"]


def _sample(name: str) -> list[str]:
    return sample_lines(NS / name)


def test_conn_short_rows_and_title(tmp_path):
    ts = zdiag.parse([NS / "uss_netstat_conn_short_v2r5_wmlz.txt"])
    c = ts["connections"]
    assert len(c) == 24
    assert set(c["stack"]) == {"TCPIP"} and set(c["release"]) == {"V2R5"}
    assert set(c["snapshot_ts"].astype(str)) == {"1900-01-01 00:20:01"}
    r = c[c["conn_id"] == "00000064"].iloc[0]
    assert (r["user"], r["local_ip"], r["local_port"], r["remote_ip"], r["remote_port"]) == (
        "BUZAGNT1", "127.0.0.1", 1025, "127.0.0.1", 1026)  # fmt: skip
    assert (r["state"], r["state_raw"], r["line"]) == ("ESTABLISHED", "Establsh", 13)
    lst = c[c["conn_id"] == "00000084"].iloc[0]
    assert (lst["local_port"], lst["remote_ip"], lst["remote_port"], lst["state"]) == (
        10443, "0.0.0.0", 0, "LISTEN")  # fmt: skip
    f = ts["files"].iloc[0]
    assert (f["parsed"], f["unrecognised"]) == (25, 0)  # 24 rows + the title


def test_long_format_ipv4_mapped_and_wildcard():
    c = zdiag.parse([NS / "uss_netstat_P_long_v1r10_liberty.txt"])["connections"]
    assert list(c["conn_id"]) == ["000014F6", "000012D9", "000014F5"]
    assert c.iloc[0]["local_ip"] == "::ffff:9.57.165.181" and c.iloc[0]["remote_port"] == 4681
    assert (c.iloc[1]["local_ip"], c.iloc[1]["local_port"], c.iloc[1]["remote_ip"]) == (
        "::", 9355, "::")  # fmt: skip
    assert list(c["state"]) == ["ESTABLISHED", "LISTEN", "ESTABLISHED"]
    assert list(c["line"]) == [8, 11, 14]  # the row line, not the socket lines


def test_console_form_states_and_message():
    ts = zdiag.parse([NS / "console_d_tcpip_netstat_allconn_port23_v1r6.txt"])
    c = ts["connections"]
    assert list(c["state_raw"]) == ["LISTEN", "ESTBLSH", "CLOSWT"]
    assert list(c["state"]) == ["LISTEN", "ESTABLISHED", "CLOSE_WAIT"]
    assert set(c["stack"]) == {"TCPIP"} and c["snapshot_ts"].isna().all()  # console: no time
    m = ts["messages"]
    assert list(m["msg_id"]) == ["EZZ2500I"] and m.iloc[0]["prefix"] == "EZZ"


def test_all_block_fields_become_typed_columns():
    c = zdiag.parse([NS / "tso_netstat_all_msgid_ttls_v2r4_partial.txt"])["connections"]
    assert len(c) == 1
    r = c.iloc[0]
    assert (r["user"], r["conn_id"], r["local_port"], r["remote_ip"]) == (
        "CSQ9CHIN", "000000BB", 1414, "10.1.0.2")  # fmt: skip
    assert (r["bytes_in"], r["bytes_out"], r["snd_wnd"], r["max_snd_wnd"]) == (
        2248, 2076, 62336, 64256)  # fmt: skip
    assert (r["cong_wnd"], r["rexmt"], r["rexmt_count"], r["slow_start_threshold"]) == (
        18720, 0, 0, 65535)  # fmt: skip
    assert r["snd_nxt"] == 3598815082 and r["rtt_seq"] == 3598814997
    assert str(c["snd_nxt"].dtype) == "Int64"
    assert c["smooth_trip_time"].dtype == "Float64" and r["smooth_trip_variance"] == 19.0
    assert r["ds_field"] == "00"  # a hex flag byte stays text
    assert r["state"] == "ESTABLISHED" and r["last_touched"] == "16:36:57"
    assert str(r["start_ts"]) == "2022-05-31 16:31:54"


def test_legacy_all_generic_labels_snake_case():
    c = zdiag.parse([NS / "tso_netstat_all_legacy_v2r21_cisco_partial_wscollapsed.txt"])[
        "connections"
    ]
    r = c.iloc[0]
    assert r["user"] == "FTPSRVCE" and r["release"] == "V2R2.1"
    assert (r["local_ip"], r["local_port_name"], r["remote_ip"]) == ("*", "FTP-C", "*")
    assert r["sender_frustration_level"] == "Contented" and r["precedence"] == "Routine"
    assert r["initial_send_sequence_number"] == 526598376 and r["cong_wnd"] == 65535
    assert r["smooth_trip_variance"] == 1.5


def test_config_to_stack_config():
    sc = zdiag.parse([NS / "tso_netstat_config_v2r2_partial_wscollapsed.txt"])["stack_config"]
    assert len(sc) == 20 and set(sc["stack"]) == {"TCPCS"}
    v = sc.set_index("name")
    assert v.loc["FinWait2Time", "value"] == "010" and v.loc["FinWait2Time", "value_num"] == 10
    assert v.loc["TcpTimeStamp", "value"] == "Yes" and pd.isna(v.loc["TcpTimeStamp", "value_num"])
    assert v.loc["MinReTransmitTime", "value_num"] == 0.5
    assert v.loc["EphemeralPorts", "value"] == "1024-65535"
    assert set(sc["section"]) == {"TCP Configuration Table"}


def test_route_table_and_ipv6_stanzas():
    r = zdiag.parse([NS / "uss_onetstat_r_route_v2r5.txt"])["routes"]
    assert len(r) == 11
    assert list(r["ip_version"]).count(4) == 6 and list(r["ip_version"]).count(6) == 5
    v6 = r[r["ip_version"] == 6].iloc[1]
    assert (v6["destination"], v6["gateway"], v6["interface"], v6["flags"], v6["mtu"]) == (
        "::", "::", "LOOPBACK6", "UH", 65535)  # fmt: skip
    assert r.iloc[0]["destination"] == "Default" and r.iloc[0]["flags"] == "UGS"


def test_legacy_devlinks_interfaces():
    i = zdiag.parse([NS / "tso_netstat_devlinks_legacy_v2r21_cisco_wscollapsed.txt"])["interfaces"]
    assert list(i["name"]) == ["CIP1", "CHIP1"] and list(i["kind"]) == ["device", "link"]
    assert i.iloc[0]["status"] == "Ready" and i.iloc[0]["address"] == "0580"
    assert pd.isna(i.iloc[0]["ip"])  # a device number is not an IP address


def test_three_snapshots_timestamps_and_stable_key():
    c = zdiag.parse([NS / "handmade_loop3_conn_short_v2r5_midnight.txt"])["connections"]
    snaps = sorted(c["snapshot_ts"].unique())
    assert [str(s) for s in snaps] == [
        "1900-01-01 23:59:40", "1900-01-02 00:00:00", "1900-01-02 00:00:20"]  # fmt: skip
    g = c.groupby(KEY)["snapshot_ts"].agg(["count", "min", "max"])
    stuck = g.loc[("TCPIP", "192.168.1.191", 5045, "192.168.1.191", 8207)]
    assert stuck["count"] == 3 and (stuck["max"] - stuck["min"]).total_seconds() == 40
    fin = c[(c["conn_id"] == "000000BB")]
    assert list(fin["state"]) == ["ESTABLISHED", "FIN_WAIT_2"]


def test_three_all_snapshots_window_goes_to_zero():
    c = zdiag.parse([NS / "handmade_loop3_all_msgid_v2r4_stuck_window.txt"])["connections"]
    assert c.groupby(KEY).size().tolist() == [3]
    assert list(c["snd_wnd"]) == [1024, 0, 0] and list(c["bytes_out"]) == [902076, 903100, 903100]
    assert c["snapshot_ts"].diff().dt.total_seconds().tolist()[1:] == [30, 30]


def test_snapshot_times_roll_only_at_midnight():
    ts = nc.snapshot_times(["23:59:50", "00:00:05", "00:00:04", None, "12:00:00"])
    assert [str(t) for t in ts] == [
        "1900-01-01 23:59:50", "1900-01-02 00:00:05", "1900-01-02 00:00:04", "NaT",
        "1900-01-02 12:00:00"]  # fmt: skip


def test_error_replies_are_messages(tmp_path):
    text = (
        "EZZ2376I Could not determine TCPIPjobname, using default of 'INET'\n"
        "EZZ2377I Could not establish affinity with INET (1011/11B3005A) - can not provide "
        "the requested option information\n"
        "EZZ2385I Access to Netstat -c denied - SAF RC is 00000008\n"
    )
    # A file holding nothing but these replies is a message log as much as a netstat
    # report: either kind must turn them into the same messages rows.
    p = tmp_path / "in.txt"
    p.write_text(text, encoding="utf-8")
    for kind in (None, "netstat.zos", "syslog.zos"):
        ts = zdiag.parse([p], kind=kind)
        f = ts["files"].iloc[0]
        assert f["kind"] in ("netstat.zos", "syslog.zos") and f["unrecognised"] == 0
        m = ts["messages"]
        assert list(m["msg_id"]) == ["EZZ2376I", "EZZ2377I", "EZZ2385I"]
        assert list(m["severity"]) == ["I"] * 3
        assert m.iloc[2]["text"].startswith("EZZ2385I Access to Netstat")


def test_ipv6_full_compressed_and_separators(tmp_path):
    text = "\n".join(
        [TITLE.format("10:00:00"), *LONG_HEAD,
         "FTPD1    00000101 Establsh",
         "  Local Socket:   2001:0db8:0000:0000:0000:0000:0000:0001..21",
         "  Foreign Socket: 2001:db8::a..50000",
         "FTPD1    00000102 Establsh",
         "  Local Socket:   2001:db8::1..21",
         "  Foreign Socket: ::FFFF:10.1.0.2..50001",
         ""]
    )  # fmt: skip
    c = parse_text(tmp_path, text)["connections"]
    assert list(c["local_ip"]) == ["2001:db8::1", "2001:db8::1"]  # full and compressed agree
    assert list(c["remote_ip"]) == ["2001:db8::a", "::ffff:10.1.0.2"]
    assert list(c["local_port"]) == [21, 21] and list(c["remote_port"]) == [50000, 50001]


def test_byteinfo_style_continuation_attaches_to_row(tmp_path):
    # BYTEINFO's own layout was not found as real text; its fields arrive through the
    # generic `Label: value` continuation under a row, which this checks.
    text = "\n".join([TITLE.format("10:00:00"), *SHORT_HEAD,
                      "CSQ9CHIN 000000BB 10.1.1.2..1414         10.1.0.2..51844        Establsh",
                      "  BytesIn:  0000002248   BytesOut: 0000002076", ""])  # fmt: skip
    ts = parse_text(tmp_path, text)
    c = ts["connections"]
    assert (c.iloc[0]["bytes_in"], c.iloc[0]["bytes_out"]) == (2248, 2076)
    assert ts["files"].iloc[0]["unrecognised"] == 0


def test_truncated_all_block_keeps_what_was_printed(tmp_path):
    lines = _sample("tso_netstat_all_msgid_ttls_v2r4_partial.txt")
    cut = lines[: lines.index(next(ln for ln in lines if "EZZ2556I" in ln))]
    ts = parse_text(tmp_path, "\n".join(cut) + "\n")
    c = ts["connections"]
    assert len(c) == 1 and c.iloc[0]["bytes_in"] == 2248
    assert pd.isna(c.iloc[0]["cong_wnd"]) and ts["files"].iloc[0]["unrecognised"] == 0


def test_garbage_inside_all_block_is_unrecognised_and_block_continues(tmp_path):
    lines = _sample("tso_netstat_all_msgid_ttls_v2r4_partial.txt")
    pos = next(i for i, ln in enumerate(lines) if "EZZ2556I" in ln)
    lines.insert(pos, "%%%% line noise ~~~~")
    ts = parse_text(tmp_path, "\n".join(lines) + "\n")
    u = ts["unrecognised"]
    assert list(u["line"]) == [pos + 1] and u.iloc[0]["text"] == "%%%% line noise ~~~~"
    c = ts["connections"]
    assert len(c) == 1 and c.iloc[0]["cong_wnd"] == 18720 and c.iloc[0]["rexmt"] == 0


def test_pair_line_outside_any_block_is_unrecognised_with_reason(tmp_path):
    ts = parse_text(tmp_path, TITLE.format("10:00:00") + "\nSndWnd: 0000000001\n")
    u = ts["unrecognised"]
    assert list(u["line"]) == [2] and "outside any NETSTAT block" in u.iloc[0]["reason"]


def test_smc_ttls_keepalive_derived_from_generic_fields(tmp_path):
    # Field NAMES below follow the ALL report's pattern but were NOT seen in a real capture:
    # this tests the generic mechanism (any Label: value becomes a column) and _derive.
    text = "\n".join(
        [TITLE.format("10:00:00"),
         "Client Name: CSQ9CHIN                 Client Id: 000000BB",
         "  Local Socket: 10.1.1.2..1414          Foreign Socket: 10.1.0.2..51844",
         "  SMCRStatus:         Active            SMCDStatus:         Inactive",
         "  TTLSPolicy:         Yes",
         "  KeepAliveTime:      0000000120",
         "Client Name: FTPD1                    Client Id: 00000054",
         "  Local Socket: 0.0.0.0..21             Foreign Socket: 0.0.0.0..0",
         "  SMCRStatus:         Inactive          SMCDStatus:         Inactive",
         ""]
    )  # fmt: skip
    c = parse_text(tmp_path, text)["connections"]
    assert list(c["smc"]) == ["Active", ""]
    assert c.iloc[0]["ttls"] == "Yes" and c.iloc[0]["keepalive"] == "120"
    assert c.iloc[0]["smcr_status"] == "Active" and c["keep_alive_time"].iloc[0] == 120


def test_state_map_is_complete_and_rfc():
    zos = ["Establsh", "Estblsh", "ESTBLSH", "Listen", "SynSent", "SynRcvd", "FinWait1", "FinWt1",
           "FinWait2", "FinWt2", "ClosWait", "ClosWt", "CLOSWT", "TimeWait", "LastAck",
           "Closing", "Closed"]  # fmt: skip
    got = nc.normalise_states(pd.Series(zos))
    assert got.notna().all() and set(got) <= set(nc.RFC_STATES)
    assert list(got[:3]) == ["ESTABLISHED"] * 3
    assert set(nc.STATE_MAP.values()) == set(nc.RFC_STATES)
    assert pd.isna(nc.normalise_states(pd.Series(["Bogus"]))[0])


def test_detection_by_content():
    for name in (
        "uss_netstat_P_long_v1r10_liberty.txt",
        "console_d_tcpip_netstat_allconn_port23_v1r6.txt",
    ):
        kind, _ = detect_lines(_sample(name))
        assert kind is not None and kind.name == "netstat.zos"


ALL_SAMPLES = sorted(p for p in NS.glob("*.txt"))
SAMPLE_LINES = [ln for p in ALL_SAMPLES for ln in _sample(p.name)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    picks=st.lists(st.integers(0, len(SAMPLE_LINES) - 1), min_size=1, max_size=60),
    cut=st.integers(0, 80),
    trailing_newline=st.booleans(),
)
def test_every_line_accounted_for_shuffled_duplicated_truncated(picks, cut, trailing_newline):
    lines = [SAMPLE_LINES[i] for i in picks]
    lines[-1] = lines[-1][: max(1, len(lines[-1]) - cut)]  # a truncated last line
    data = ("\n".join(lines) + ("\n" if trailing_newline else "")).encode()
    res = parse_source(Source("h.txt", loader=lambda: data, size=len(data)), kind="netstat.zos")
    row = res.file_row
    assert row["error"] is None or "parser failed" not in str(row["error"])
    assert row["parsed"] + row["layout"] + row["unrecognised"] == row["lines"]
    if "".join(lines).strip():  # an all-blank input decodes to no lines at all
        assert row["lines"] == len(lines)


@pytest.mark.parametrize("path", ALL_SAMPLES, ids=lambda p: p.name)
def test_samples_fully_accounted(path):
    f = zdiag.parse([path])["files"].iloc[0]
    assert f["kind"] == "netstat.zos" and f["unrecognised"] == 0 and pd.isna(f["error"])


def test_unconfirmed_layouts_use_the_generic_stanza_path(tmp_path):
    # HOME, modern DEVLINKS and ARP were NOT found as real text (FORMATS §1.9). Their field
    # names below come from the manual's wording; this checks the generic stanza mechanism
    # (a DevName:/LnkName:/IntfName:/LinkName: label opens an interfaces row, an ARP query
    # line opens an arp row), not a confirmed layout.
    text = "\n".join(
        [TITLE.format("10:00:00"),
         "DevName: OSAQDIO1          DevType: MPCIPA",
         "  DevStatus: Ready",
         "  LnkName: OSAQDIOLINK     LnkType: IPAQENET    LnkStatus: Ready",
         TITLE.format("10:00:05"),
         "Home address list:",
         "LinkName:   LOOPBACK",
         "  Address:  127.0.0.1",
         TITLE.format("10:00:09"),
         "Querying ARP cache for address 10.1.1.9",
         "Link:     OSAQDIOLINK      ETHERNET: 00045ACD8F2D",
         ""]
    )  # fmt: skip
    ts = parse_text(tmp_path, text)
    i = ts["interfaces"]
    assert list(i["name"]) == ["OSAQDIO1", "OSAQDIOLINK", "LOOPBACK"]
    assert list(i["type"])[:2] == ["MPCIPA", "IPAQENET"] and i.iloc[0]["status"] == "Ready"
    assert i.iloc[2]["ip"] == "127.0.0.1"
    a = ts["arp"].iloc[0]
    assert (a["ip"], a["interface"], a["mac"], a["hw_type"]) == (
        "10.1.1.9", "OSAQDIOLINK", "00045ACD8F2D", "ethernet")  # fmt: skip
    assert str(a["snapshot_ts"]) == "1900-01-01 10:00:09"


def test_upper_case_console_labels_land_in_the_same_columns(tmp_path):
    # console responses print headings in upper case (console_d_..._v1r6.txt); an ALL-style
    # block in that case is NOT in the samples - this checks the label mapping only
    text = "\n".join(
        [" EZZ2500I NETSTAT CS V1R6 TCPIP ",
         " CLIENT NAME: CSQ9CHIN                 CLIENT ID: 000000BB",
         "   LOCAL SOCKET: 10.1.1.2..1414          FOREIGN SOCKET: 10.1.0.2..51844",
         "   BYTESIN:            0000002248        BYTESOUT:           0000002076",
         "   SNDWND:             0000000000        MAXSNDWND:          0000064256",
         " 1 OF 1 RECORDS DISPLAYED",
         ""]
    )  # fmt: skip
    ts = parse_text(tmp_path, text)
    r = ts["connections"].iloc[0]
    assert (r["user"], r["conn_id"], r["local_port"], r["remote_ip"]) == (
        "CSQ9CHIN", "000000BB", 1414, "10.1.0.2")  # fmt: skip
    assert (r["bytes_in"], r["bytes_out"], r["snd_wnd"], r["max_snd_wnd"]) == (2248, 2076, 0, 64256)
    assert ts["files"].iloc[0]["unrecognised"] == 0


def test_values_with_blanks_and_three_pairs(tmp_path):
    # mechanism test (field names not from a captured report): a value may hold blanks, and
    # a line may carry three pairs
    text = "\n".join(
        [TITLE.format("10:00:00"),
         "Client Name: CSQ9CHIN                 Client Id: 000000BB",
         "  SendStatus:         Not blocked       RcvWnd:             0000130987",
         "  ApplicationData:    CSQ9  CHIN  X",
         "  TcpSig:  04   TcpSel:  40   TcpDet:  C0",
         ""]
    )  # fmt: skip
    ts = parse_text(tmp_path, text)
    r = ts["connections"].iloc[0]
    assert r["send_status"] == "Not blocked" and r["rcv_wnd"] == 130987
    assert r["application_data"] == "CSQ9  CHIN  X"
    assert (r["tcp_sig"], r["tcp_sel"], r["tcp_det"]) == ("04", "40", "C0")
    assert ts["files"].iloc[0]["unrecognised"] == 0


def test_netstat_route_refcnt_too_long_for_a_number_is_null(tmp_path):
    """A Refcnt too long for Python's int() is null, not a failed file (to_numeric raised)."""
    route = NS / "uss_onetstat_r_route_v2r5.txt"
    text = route.read_text(encoding="utf-8").replace(
        "UGS      0000000000", "UGS      " + "9" * 5000, 1
    )
    p = tmp_path / "r.txt"
    p.write_text(text, encoding="utf-8")
    ts = zdiag.parse([p], kind="netstat.zos")
    assert pd.isna(ts["files"].iloc[0]["error"])
    routes = ts["routes"]
    assert pd.isna(routes["refcnt"].iloc[0]) and (routes["refcnt"].iloc[1:6] == 0).all()
