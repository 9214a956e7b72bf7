"""A classic pcap's plain TCP frames are read with numpy (``pcap._fast_parse``); every other
frame still goes through dpkt. The packets table and the accounting must be the ones the
dpkt path gives, frame by frame, for any mix of frame shapes (hypothesis)."""

from __future__ import annotations

import struct

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zdiag.kinds import pcap

MAC = b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02"


def _tcp(d) -> bytes:
    doff = d["doff"]
    head = struct.pack(">HHIIHHHH", d["sport"], d["dport"], d["seq"], d["ack"],
                       (doff << 12) | d["flags"], d["win"], 0, 0)  # fmt: skip
    opts = d["opts"][: max(0, doff * 4 - 20)]
    return head + opts + b"x" * d["payload"]


def _frame(d) -> bytes:
    """One frame (Ethernet unless raw) from a drawn description."""
    if d["l3"] == "arp":
        return MAC + b"\x08\x06" + b"\x00" * 28
    l4 = _tcp(d) if d["proto"] == 6 else struct.pack(">HHHH", 53, 53, 8 + d["payload"], 0)
    l4 += b"" if d["proto"] == 6 else b"y" * d["payload"]
    if d["l3"] == "v4":
        ihl = 5 + d["ip_opts"]
        total = {
            "right": 4 * ihl + len(l4),
            "zero": 0,
            "short": 20,
            "long": 4 * ihl + len(l4) + 300,
        }[d["iplen"]]
        ip = struct.pack(">BBHHHBBH4s4s", 0x40 | ihl, 0, total & 0xFFFF, d["ipid"], d["frag"], 64,
                         d["proto"], 0, d["src"], d["dst"])  # fmt: skip
        pkt, etype = ip + b"\x01" * (4 * d["ip_opts"]) + l4, b"\x08\x00"
    else:
        nxt = 0 if d["ext"] else d["proto"]
        ext = bytes([d["proto"], 0]) + b"\x00" * 6 if d["ext"] else b""
        plen = {
            "right": len(ext) + len(l4),
            "zero": 0,
            "short": 8,
            "long": len(ext) + len(l4) + 300,
        }[d["iplen"]]
        ip = struct.pack(">IHBB16s16s", 6 << 28, plen & 0xFFFF, nxt, 64, d["src"] * 4, d["dst"] * 4)
        pkt, etype = ip + ext + l4, b"\x86\xdd"
    if d["vlan"]:
        etype = b"\x81\x00\x00\x05" + etype
    frame = pkt if d["raw"] else MAC + etype + pkt
    return frame[: d["cut"]] if d["cut"] is not None else frame


def _frames(raw: bool):
    addr = st.sampled_from([b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02", b"\xc0\xa8\x01\x01"])
    return st.fixed_dictionaries(
        {
            "l3": st.sampled_from(
                ["v4", "v4", "v4", "v6", "arp"] if not raw else ["v4", "v4", "v6"]
            ),
            "proto": st.sampled_from([6, 6, 6, 17]),
            "ip_opts": st.sampled_from([0, 0, 0, 1]),
            "iplen": st.sampled_from(["right", "right", "right", "zero", "short", "long"]),
            "frag": st.sampled_from([0, 0, 0, 0x4000, 0x2000, 0x0010]),
            "ext": st.sampled_from([False, False, True]),
            "vlan": st.just(False) if raw else st.sampled_from([False, False, False, True]),
            "raw": st.just(raw),
            "ipid": st.integers(0, 0xFFFF),
            "src": addr,
            "dst": addr,
            "sport": st.sampled_from([21, 1024, 40000]),
            "dport": st.sampled_from([21, 1024, 40000]),
            "seq": st.integers(0, 2**32 - 1),
            "ack": st.integers(0, 2**32 - 1),
            "flags": st.one_of(
                st.sampled_from([0x10, 0x18, 0x11, 0x04, 0x02, 0x12]), st.integers(0, 0x1FF)
            ),
            "doff": st.sampled_from([5, 5, 5, 8, 4, 15]),
            "opts": st.sampled_from(
                [b"\x03\x03\x07" + b"\x01" * 9, b"\x02\x04\x05\xb4" + b"\x00" * 8, b"\x01" * 12]
            ),
            "win": st.integers(0, 0xFFFF),
            "payload": st.sampled_from([0, 0, 1, 100, 1460]),
            "cut": st.sampled_from([None, None, None, 54, 60, 40, 20]),
        }
    )


def _pcap(frames: list[bytes], times, order: str, linktype: int) -> bytes:
    head = struct.pack(order + "IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)
    out = [head]
    for f, (sec, usec) in zip(frames, times, strict=True):
        out.append(struct.pack(order + "IIII", sec, usec, len(f), len(f) + 10) + f)
    return b"".join(out)


def _both(data: bytes):
    fast = pcap._fast_parse(data)
    assert fast is not None
    with pytest.MonkeyPatch.context() as m:
        m.setattr(pcap, "_fast_parse", lambda d: None)
        slow = pcap.parse_bytes(data)
    return fast, slow


def _same(fast, slow) -> None:
    pd.testing.assert_frame_equal(fast[0]["packets"], slow[0]["packets"])
    assert np.array_equal(fast[1].status, slow[1].status)
    blank = [""] * len(slow[1])
    pd.testing.assert_frame_equal(
        fast[1].unrecognised_frame(blank), slow[1].unrecognised_frame(blank)
    )


@settings(max_examples=120, deadline=None)
@given(data=st.data())
def test_any_frame_mix_same_as_dpkt(data):
    raw = data.draw(st.booleans())
    frames = data.draw(st.lists(_frames(raw), min_size=1, max_size=25))
    times = data.draw(st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 999_999)),
                               min_size=len(frames), max_size=len(frames)))  # fmt: skip
    order = data.draw(st.sampled_from(["<", ">"]))
    blob = _pcap([_frame(f) for f in frames], times, order, 101 if raw else 1)
    _same(*_both(blob))


def test_plain_tcp_frames_take_the_numpy_path(monkeypatch):
    d = {"l3": "v4", "proto": 6, "ip_opts": 0, "iplen": "right", "frag": 0x4000, "ext": False,
         "vlan": False, "raw": False, "ipid": 7, "src": b"\x0a\x00\x00\x01", "dst": b"\x0a\x00\x00\x02",
         "sport": 21, "dport": 40000, "seq": 1, "ack": 2, "flags": 0x10, "doff": 5, "opts": b"",
         "win": 100, "payload": 10, "cut": None}  # fmt: skip
    blob = _pcap([_frame(d)] * 50, [(1_700_000_000, k) for k in range(50)], "<", 1)
    calls = []
    real = pcap._row
    monkeypatch.setattr(pcap, "_row", lambda *a: calls.append(a) or real(*a))
    got, acct = pcap.parse_bytes(blob)
    assert calls == [] and len(got["packets"]) == 50 and acct.counts()["parsed"] == 50
    assert got["packets"]["data_len"].tolist() == [10] * 50


@pytest.mark.parametrize("tail", [b"\x00" * 7, struct.pack("<IIII", 0, 0, 500, 500) + b"z" * 20])
def test_a_damaged_end_leaves_the_file_to_dpkt(tail):
    d = {"l3": "v4", "proto": 6, "ip_opts": 0, "iplen": "right", "frag": 0, "ext": False,
         "vlan": False, "raw": False, "ipid": 7, "src": b"\x0a\x00\x00\x01", "dst": b"\x0a\x00\x00\x02",
         "sport": 21, "dport": 40000, "seq": 1, "ack": 2, "flags": 0x10, "doff": 5, "opts": b"",
         "win": 100, "payload": 10, "cut": None}  # fmt: skip
    blob = _pcap([_frame(d)] * 3, [(1, 0)] * 3, "<", 1) + tail
    assert pcap._fast_parse(blob) is None
    _, acct = pcap.parse_bytes(blob)
    assert acct.counts()["parsed"] == 3 and acct.counts()["unrecognised"] == 1
