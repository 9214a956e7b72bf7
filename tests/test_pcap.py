"""Kind pcap: pcap and pcapng read with dpkt into the packets table."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

import dpkt
import pandas as pd
import pytest
from tools import scenarios

import zdiag
from zdiag.kinds import registry

ROOT = Path(__file__).resolve().parents[1]
A_IP, B_IP = "192.168.1.10", "192.168.1.20"


def tcp_frame(src, dst, sport, dport, flags, seq, ack, win, payload=b"", opts=b"", raw=False):
    tcp = dpkt.tcp.TCP(sport=sport, dport=dport, seq=seq, ack=ack, flags=flags, win=win,
                       data=payload, opts=opts)  # fmt: skip
    tcp.off = (20 + len(opts)) // 4
    ip = dpkt.ip.IP(src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=6, data=tcp)
    ip.len = 20 + len(bytes(tcp))
    if raw:
        return bytes(ip)
    return bytes(dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\x04" * 6, data=ip,
                                        type=dpkt.ethernet.ETH_TYPE_IP))  # fmt: skip


def write(path, frames, linktype=dpkt.pcap.DLT_EN10MB):
    with open(path, "wb") as f:
        w = dpkt.pcap.Writer(f, linktype=linktype)
        for i, fr in enumerate(frames):
            w.writepkt(fr, ts=1700000000 + i * 0.001)


def test_pcap_and_pcapng_read_the_same(tmp_path):
    pkts = scenarios.zero_window_probes_rst().pkts
    scenarios.write_pcap(pkts, tmp_path / "a.pcap")
    scenarios.write_pcap(pkts, tmp_path / "b.pcapng", ng=True)
    a, b = zdiag.parse([tmp_path / "a.pcap"]), zdiag.parse([tmp_path / "b.pcapng"])
    assert list(a["files"]["kind"]) == list(b["files"]["kind"]) == ["pcap"]
    cols = [c for c in a["packets"].columns if c not in ("source",)]
    pd.testing.assert_frame_equal(a["packets"][cols], b["packets"][cols])
    p = a["packets"]
    assert len(p) == len(pkts) and list(p["nr"]) == list(range(1, len(pkts) + 1))
    assert p["conn"].unique().tolist() == ["10.1.1.1:21-10.2.2.2:1095"]
    assert p["direction"].iloc[0] == "in"  # the SYN comes from the remote client
    assert p["ibm_flag"].isna().all()


def test_detected_by_content_only(tmp_path):
    path = tmp_path / "trace.txt"  # a misleading name
    scenarios.write_pcap(scenarios.normal_transfer().pkts, path)
    assert zdiag.parse([path])["files"]["kind"].iloc[0] == "pcap"
    assert registry.detect_bytes(b"\x0a\x0d\x0d\x0a....").name == "pcap"
    assert registry.detect_bytes(b"\xd4\xc3\xb2\xa1").name == "pcap"


def test_non_ip_frames_are_unrecognised_and_udp_kept(tmp_path):
    arp = bytes(dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\xff" * 6,
                                       type=dpkt.ethernet.ETH_TYPE_ARP, data=dpkt.arp.ARP()))  # fmt: skip
    udp = dpkt.udp.UDP(sport=53, dport=5353, data=b"abc")
    udp.ulen = 8 + 3
    ip = dpkt.ip.IP(src=socket.inet_aton(A_IP), dst=socket.inet_aton(B_IP), p=17, data=udp)
    ip.len = 20 + len(bytes(udp))
    udp_frame = bytes(dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\x04" * 6, data=ip))
    syn = tcp_frame(A_IP, B_IP, 40000, 1414, dpkt.tcp.TH_SYN, 100, 0, 8192)
    write(tmp_path / "mixed.pcap", [arp, udp_frame, syn])
    ts = zdiag.parse([tmp_path / "mixed.pcap"])
    f = ts["files"].iloc[0]
    assert (f["lines"], f["parsed"], f["unrecognised"]) == (3, 2, 1)
    u = ts["unrecognised"]
    assert list(u["line"]) == [1] and "not an IP packet" in u["reason"].iloc[0]
    p = ts["packets"]
    assert list(p["protocol"]) == ["UDP", "TCP"]
    assert pd.isna(p["conn"].iloc[0]) and p["analysis"].iloc[0] == ""
    assert p["local_port"].iloc[1] == 1414 and p["direction"].iloc[1] == "in"


def test_truncated_file_is_accounted_not_crashed(tmp_path):
    path = tmp_path / "cut.pcap"
    scenarios.write_pcap(scenarios.normal_transfer().pkts, path)
    data = path.read_bytes()
    path.write_bytes(data[:-30])  # the last record is cut
    ts = zdiag.parse([path])
    f = ts["files"].iloc[0]
    assert pd.isna(f["error"])
    assert f["parsed"] == 18 and f["unrecognised"] == 1
    assert "truncated" in ts["unrecognised"]["reason"].iloc[0]


def test_garbage_after_magic_gives_an_error_row(tmp_path):
    path = tmp_path / "bad.pcap"
    path.write_bytes(b"\xd4\xc3\xb2\xa1" + b"\x00" * 5)
    f = zdiag.parse([path])["files"].iloc[0]
    assert f["kind"] == "pcap" and "pcap" in f["error"]


def test_window_scaling_and_raw_ip_link(tmp_path):
    ws = lambda s: bytes([dpkt.tcp.TCP_OPT_WSCALE, 3, s, dpkt.tcp.TCP_OPT_NOP])  # noqa: E731
    frames = [
        tcp_frame(A_IP, B_IP, 40000, 21, dpkt.tcp.TH_SYN, 1000, 0, 29200, opts=ws(7), raw=True),
        tcp_frame(
            B_IP,
            A_IP,
            21,
            40000,
            dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK,
            5000,
            1001,
            28960,
            opts=ws(3),
            raw=True,
        ),  # fmt: skip
        tcp_frame(A_IP, B_IP, 40000, 21, dpkt.tcp.TH_ACK, 1001, 5001, 229, raw=True),
        tcp_frame(B_IP, A_IP, 21, 40000, dpkt.tcp.TH_ACK, 5001, 1001, 100, b"x" * 10, raw=True),
    ]
    write(tmp_path / "ws.pcap", frames, linktype=dpkt.pcap.DLT_RAW)
    p = zdiag.parse([tmp_path / "ws.pcap"])["packets"]
    # SYN windows as sent; afterwards each side's window times its own scale
    assert list(p["window"]) == [29200, 28960, 229 * 128, 100 * 8]
    assert list(p["direction"]) == ["in", "out", "in", "out"]


def test_without_syn_the_lower_port_is_local(tmp_path):
    frames = [
        tcp_frame(A_IP, B_IP, 1414, 50000, dpkt.tcp.TH_ACK, 10, 20, 1000, b"y" * 5),
        tcp_frame(B_IP, A_IP, 50000, 1414, dpkt.tcp.TH_ACK, 20, 15, 1000),
    ]
    write(tmp_path / "mid.pcap", frames)
    p = zdiag.parse([tmp_path / "mid.pcap"])["packets"]
    assert p["conn"].iloc[0] == f"{A_IP}:1414-{B_IP}:50000"
    assert list(p["direction"]) == ["out", "in"]


def test_snaplen_cut_payload_keeps_the_segment_length(tmp_path):
    full = tcp_frame(A_IP, B_IP, 1414, 50000, dpkt.tcp.TH_ACK, 10, 20, 1000, b"z" * 500)
    write(tmp_path / "snap.pcap", [full[: 54 + 20]])  # headers + 20 of 500 payload bytes
    ts = zdiag.parse([tmp_path / "snap.pcap"])
    assert ts["files"]["parsed"].iloc[0] == 1
    assert ts["packets"]["data_len"].iloc[0] == 500


def test_bytes_dpkt_stops_at_are_not_lost(tmp_path):
    # dpkt ends a capture quietly at a record it cannot read; found by bench/fuzz.py: a
    # pcapng whose blocks after the header are damaged gave no packet and no word of it
    good = (ROOT / "fixtures" / "pcap" / "zero_window_probes_rst.pcapng").read_bytes()
    head = good[: 28 + 20]  # the Section Header Block and the Interface Description Block
    unknown = struct.pack("<II", 0x78787878, 4012) + b"x" * 4000 + struct.pack("<I", 4012)
    for name, tail, reason in (
        ("damaged", b"\x06\x00\x00\x00\x78\x78\x78\x78" + b"x" * 4000, "damaged record"),
        ("skipped", unknown, "no packet record in the 4032 bytes"),  # IDB + the block
    ):
        path = tmp_path / f"{name}.pcapng"
        path.write_bytes(head + tail)
        ts = zdiag.parse([path])
        f = ts["files"].iloc[0]
        assert f["kind"] == "pcap" and f["parsed"] == 0 and f["unrecognised"] == 1, name
        assert reason in ts["unrecognised"]["reason"].iloc[0], name
    # a classic capture whose last record header is cut short after whole records
    path = tmp_path / "cut.pcap"
    scenarios.write_pcap(scenarios.normal_transfer().pkts, path)
    data = path.read_bytes()
    path.write_bytes(data + b"\x00" * 10)  # ten bytes: less than a record header
    ts = zdiag.parse([path])
    f = ts["files"].iloc[0]
    assert f["parsed"] == 19 and f["unrecognised"] == 1
    assert "truncated or damaged record after frame 19" in ts["unrecognised"]["reason"].iloc[0]


def test_a_malformed_option_list_is_read_up_to_the_damage(tmp_path):
    # dpkt marks a malformed option with None in the list it returns (bench/fuzz.py found a
    # SYN whose options crashed the window-scale reader)
    path = tmp_path / "opts.pcap"
    syn = dpkt.tcp.TH_SYN
    bad_opts = b"\x02\x04\x05\xb4\x01\x01\x01\x03"  # MSS, NOPs, a kind without its length
    write(path, [tcp_frame(A_IP, B_IP, 40000, 21, syn, 1, 0, 8192, opts=bad_opts),
                 tcp_frame(B_IP, A_IP, 21, 40000, syn | dpkt.tcp.TH_ACK, 5, 2, 8192)])  # fmt: skip
    ts = zdiag.parse([path])
    f = ts["files"].iloc[0]
    assert pd.isna(f["error"]) and f["parsed"] == 2 and f["unrecognised"] == 0
    assert ts["packets"]["window"].tolist() == [8192, 8192]


@pytest.mark.parametrize("high", [0xFFFFFFFF, 0x01000000])
def test_a_timestamp_beyond_any_date_is_no_time(tmp_path, high):
    """Found by bench/fuzz.py: a pcapng block whose timestamp's high word is damaged gives a
    time past what 64-bit microseconds hold (polars' clock formatting panicked on it), or
    past 2262 (pandas refused the whole file); that frame's ts and time are null, the other
    frames keep theirs."""
    data = bytearray((ROOT / "fixtures" / "pcap" / "zero_window_probes_rst.pcapng").read_bytes())
    at, blocks = 0, []
    while at + 8 <= len(data):  # every Enhanced Packet Block (type 6), little-endian capture
        btype, blen = struct.unpack_from("<II", data, at)
        if btype == 6:
            blocks.append(at)
        at += blen
    struct.pack_into("<I", data, blocks[3] + 12, high)  # timestamp, high word
    path = tmp_path / "damaged.pcapng"
    path.write_bytes(bytes(data))
    ts = zdiag.parse([path])
    assert pd.isna(ts["files"].iloc[0]["error"])
    pk = ts["packets"]
    assert pd.isna(pk["ts"].iloc[3]) and pd.isna(pk["time"].iloc[3])
    assert pk["ts"].drop(index=3).notna().all() and pk["time"].drop(index=3).notna().all()
