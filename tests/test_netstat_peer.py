"""netstat.peer on the real layouts in fixtures/peers (and small texts built from them)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tools.samples import parse_text, sample_lines

import zdiag
from zdiag.kinds.registry import detect_lines
from zdiag.pipeline import parse_source
from zdiag.sources import Source

ROOT = Path(__file__).resolve().parents[1]
PEERS = ROOT / "fixtures" / "peers"


def _sample(name: str) -> list[str]:
    return sample_lines(PEERS / name)


def test_linux_netstat_colon_separator_and_states():
    c = zdiag.parse([PEERS / "linux_netstat_stuck_states_coolshell.txt"])["connections"]
    assert len(c) == 18
    assert c["state_raw"].value_counts()["FIN_WAIT2"] == 3
    assert set(c["state"]) == {"LISTEN", "TIME_WAIT", "FIN_WAIT_2", "ESTABLISHED", "FIN_WAIT_1",
                               "LAST_ACK"}  # fmt: skip
    big = c[c["send_q"] == 4166].iloc[0]
    assert (big["local_ip"], big["local_port"], big["remote_ip"], big["remote_port"]) == (
        "coolshell.cn", 80, "61.148.242.38", 30901)  # host names stay as printed  # fmt: skip
    fin1 = c[c["state"] == "FIN_WAIT_1"].iloc[0]
    assert fin1["send_q"] == 1 and fin1["line"] == 16
    v6 = c.iloc[-1]
    assert (v6["local_ip"], v6["local_port"], v6["remote_ip"]) == ("::", 22, "::")
    assert pd.isna(v6["remote_port"])  # ":::*"


def test_bsd_dot_separator_udp_and_unix_section():
    ts = zdiag.parse([PEERS / "freebsd12_netstat_an_jc.txt"])
    c = ts["connections"]
    assert len(c) == 6 and list(c["proto"]) == ["tcp4", "tcp4", "tcp4", "tcp6", "udp4", "udp6"]
    r = c.iloc[0]
    assert (r["local_ip"], r["local_port"], r["remote_ip"], r["remote_port"]) == (
        "192.168.71.163", 22, "192.168.71.1", 56321)  # fmt: skip
    assert c.iloc[2]["local_ip"] == "*" and c.iloc[2]["local_port"] == 22
    assert c.iloc[4]["state"] is pd.NA and c.iloc[4]["local_port"] == 514
    f = ts["files"].iloc[0]
    assert f["unrecognised"] == 0 and f["parsed"] == 6  # UNIX-domain rows are layout


def test_ss_with_and_without_netid():
    a = zdiag.parse([PEERS / "ss_tan_closewait_finwait2_lazyserver.txt"])["connections"]
    assert a["state"].value_counts().to_dict() == {"CLOSE_WAIT": 3, "FIN_WAIT_2": 3, "LISTEN": 1}
    cw = a[a["state"] == "CLOSE_WAIT"]
    assert set(cw["recv_q"]) == {1} and set(cw["state_raw"]) == {"CLOSE-WAIT"}
    assert a.iloc[0]["remote_ip"] == "0.0.0.0" and pd.isna(a.iloc[0]["remote_port"])  # 0.0.0.0:*
    assert a.iloc[0]["send_q"] == 128  # ss prints the listen backlog as Send-Q
    b = zdiag.parse([PEERS / "ss_netid_grep_closewait_finwait2.txt"])["connections"]
    assert list(b["proto"]) == ["tcp", "tcp"] and list(b["state"]) == ["CLOSE_WAIT", "FIN_WAIT_2"]
    assert list(b["local_port"]) == [1234, 57526]


def test_openvos_request_to_stack_config():
    sc = zdiag.parse([PEERS / "seed001_openvos_set_longword.txt"])["stack_config"]
    r = sc.iloc[0]
    assert (r["name"], r["value"], r["value_num"], r["section"]) == (
        "tcp_zerowin_abort_interval$", "a", 10.0, "set_longword")  # fmt: skip


def test_openvos_request_with_an_argument_that_is_no_number(tmp_path):
    """Found by bench/fuzz.py: a set_longword argument that is not hex made the parser fail."""
    text = ("set_longword tcp_zerowin_abort_interval$ a\x06\n"
            "set_longword finwait2 zz\n"
            "set_stcp_param finwait2 1200\n")  # fmt: skip
    ts = parse_text(tmp_path, text)
    assert ts["files"].iloc[0]["error"] is None or pd.isna(ts["files"].iloc[0]["error"])
    sc = ts["stack_config"]
    assert list(sc["value"]) == ["a\x06", "zz", "1200"]
    assert sc["value_num"].isna().tolist() == [True, True, False]
    assert sc["value_num"].iloc[2] == 1200


def test_a_queue_count_too_large_for_64_bits_is_null(tmp_path):
    """Found by bench/fuzz.py: a Send-Q of 200 digits made the parser fail."""
    text = ("Proto Recv-Q Send-Q Local Address           Foreign Address         State\n"
            f"tcp        0 {'9' * 200} 10.1.1.1:22             10.1.1.2:5000           ESTABLISHED\n"
            "tcp        0      0 10.1.1.1:22             10.1.1.3:5001           CLOSE_WAIT\n")  # fmt: skip
    ts = parse_text(tmp_path, text)
    assert pd.isna(ts["files"].iloc[0]["error"])
    c = ts["connections"]
    assert list(c["state"]) == ["ESTABLISHED", "CLOSE_WAIT"]
    assert pd.isna(c["send_q"].iloc[0]) and c["send_q"].iloc[1] == 0


def test_ipv6_bracketed_mapped_and_zone(tmp_path):
    text = "\n".join(
        ["State      Recv-Q Send-Q Local Address:Port  Peer Address:Port Process",
         "ESTAB      0      0      [::ffff:127.0.0.1]:9090 [::ffff:127.0.0.1]:33186",
         "ESTAB      0      0      [2001:0db8:0:0:0:0:0:1]:443 [2001:db8::2]:50000",
         "LISTEN     0      128    127.0.0.53%lo:53       0.0.0.0:*",
         ""]
    )  # fmt: skip
    c = parse_text(tmp_path, text)["connections"]
    assert list(c["local_ip"]) == ["::ffff:127.0.0.1", "2001:db8::1", "127.0.0.53"]
    assert list(c["local_port"]) == [9090, 443, 53] and c.iloc[1]["remote_ip"] == "2001:db8::2"


def test_bsd_ipv6_dot_port(tmp_path):
    text = "\n".join(
        ["Active Internet connections (including servers)",
         "Proto Recv-Q Send-Q Local Address          Foreign Address        (state)    ",
         "tcp6       0      0 fe80::1%lo0.631        *.*                    LISTEN     ",
         "tcp6       0     12 2001:db8::5.22         2001:db8::9.51000      ESTABLISHED",
         ""]
    )  # fmt: skip
    c = parse_text(tmp_path, text)["connections"]
    assert list(c["local_ip"]) == ["fe80::1", "2001:db8::5"]
    assert list(c["local_port"]) == [631, 22] and c.iloc[1]["remote_port"] == 51000
    assert c.iloc[1]["send_q"] == 12


def test_netstat_tanp_program_column(tmp_path):
    text = "\n".join(
        ["Active Internet connections (servers and established)",
         "Proto Recv-Q Send-Q Local Address           Foreign Address         State       PID/Program name",
         "tcp        0      0 0.0.0.0:22              0.0.0.0:*               LISTEN      812/sshd",
         "tcp6       0      0 :::22                   :::*                    LISTEN      -",
         ""]
    )  # fmt: skip
    c = parse_text(tmp_path, text)["connections"]
    assert list(c["program"]) == ["812/sshd", "-"] and list(c["state"]) == ["LISTEN"] * 2


def test_ss_tani_info_line_attaches_to_row(tmp_path):
    # the -i line below follows iproute2's ss output; no real capture of it is in the samples
    text = "\n".join(
        ["State      Recv-Q Send-Q Local Address:Port  Peer Address:Port",
         "ESTAB      0      4096   10.0.0.5:22         10.0.0.9:51000",
         "\t cubic wscale:7,7 rto:204 rtt:0.5/0.25 mss:1448 cwnd:10 ssthresh:7 "
         "bytes_acked:2000 bytes_received:3000 segs_out:30 segs_in:20 send 231.7Mbps "
         "lastsnd:8 lastrcv:12 lastack:8 retrans:0/2 rcv_space:29200 snd_wnd:0",
         "ESTAB      0      0      10.0.0.5:22         10.0.0.9:51001",
         ""]
    )  # fmt: skip
    ts = parse_text(tmp_path, text)
    c = ts["connections"]
    r = c.iloc[0]
    assert (r["cong_wnd"], r["bytes_in"], r["bytes_out"], r["rexmt"], r["snd_wnd"]) == (
        10, 3000, 2000, 2, 0)  # fmt: skip
    assert r["rto_ms"] == 204 and r["rtt_ms"] == 0.5 and r["send_q"] == 4096
    assert pd.isna(c.iloc[1]["cong_wnd"])
    assert ts["files"].iloc[0]["unrecognised"] == 0


def test_garbage_line_is_unrecognised_with_line_number(tmp_path):
    lines = _sample("linux_netstat_stuck_states_coolshell.txt")
    lines.insert(5, "tcp  garbage here")
    ts = parse_text(tmp_path, "\n".join(lines) + "\n")
    assert list(ts["unrecognised"]["line"]) == [6] and len(ts["connections"]) == 18


def test_detection_by_content():
    for p in PEERS.glob("*.txt"):
        kind, _ = detect_lines(_sample(p.name))
        assert kind is not None and kind.name == "netstat.peer", p.name


SAMPLE_LINES = [ln for p in sorted(PEERS.glob("*.txt")) for ln in _sample(p.name)]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    picks=st.lists(st.integers(0, len(SAMPLE_LINES) - 1), min_size=1, max_size=60),
    cut=st.integers(0, 60),
)
def test_every_line_accounted_for_shuffled_duplicated_truncated(picks, cut):
    lines = [SAMPLE_LINES[i] for i in picks]
    lines[-1] = lines[-1][: max(1, len(lines[-1]) - cut)]
    data = ("\n".join(lines) + "\n").encode()
    res = parse_source(Source("h.txt", loader=lambda: data, size=len(data)), kind="netstat.peer")
    row = res.file_row
    assert row["error"] is None
    assert row["parsed"] + row["layout"] + row["unrecognised"] == row["lines"]
    if "".join(lines).strip():
        assert row["lines"] == len(lines)


@pytest.mark.parametrize("path", sorted(PEERS.glob("*.txt")), ids=lambda p: p.name)
def test_samples_fully_accounted(path):
    f = zdiag.parse([path])["files"].iloc[0]
    assert f["kind"] == "netstat.peer" and f["unrecognised"] == 0 and pd.isna(f["error"])


def test_date_lines_give_one_snapshot_ts_per_iteration(tmp_path):
    # a capture loop `while true; do date; ss -tan; sleep 30; done` (date(1) default and ISO
    # forms); the ss lines are those of ss_tan_closewait_finwait2_lazyserver.txt
    head = "State      Recv-Q Send-Q Local Address:Port  Peer Address:Port Process"
    row = "CLOSE-WAIT 1      0          127.0.0.1:9090     127.0.0.1:33186"
    text = "\n".join(
        ["Mon Nov 23 23:59:50 UTC 2026", head, row,
         "Tue Nov 24 00:00:20 UTC 2026", head, row,
         "2026-11-24T00:00:50+00:00", head, row, ""]
    )  # fmt: skip
    ts = parse_text(tmp_path, text)
    c = ts["connections"]
    assert [str(t) for t in c["snapshot_ts"]] == [
        "2026-11-23 23:59:50", "2026-11-24 00:00:20", "2026-11-24 00:00:50"]  # fmt: skip
    key = ["local_ip", "local_port", "remote_ip", "remote_port"]
    assert c.groupby(key).size().tolist() == [3]
    assert ts["files"].iloc[0]["unrecognised"] == 0
