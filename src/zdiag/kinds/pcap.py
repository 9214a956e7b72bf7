"""Kind ``pcap``: packet traces in pcap or pcapng form (IPCS can export SYSTCPDA this way).

Read with dpkt (``dpkt.pcap`` / ``dpkt.pcapng`` and its Ethernet, Linux cooked, loopback,
IPv4 and IPv6 decoders) into the same ``packets`` table as the SESSION DETAIL text, so that
the TCP analysis and the rules run on both. Here a "line" is a frame: the ``line`` column is
the 1-based frame number and the accounting counts frames (a frame that is not IP, or that
dpkt cannot decode, is unrecognised with a reason).

Connections: TCP frames are grouped by their unordered address/port pair. The local side
(z/OS, where IPCS traced) is not written in a pcap; zdiag takes the side that received the
first SYN without ACK (z/OS is usually the server), else the side with the lower port,
else the destination of the connection's first frame. ``direction`` is relative to it.

Windows: when both SYNs of a connection carry a window-scale option, the windows of the
other segments are scaled (as Wireshark does); otherwise they are kept as in the header.
"""

from __future__ import annotations

import io
import socket
import struct

import numpy as np
import pandas as pd
import polars as pl

from zdiag.kinds.base import Accounting, InputError, Kind
from zdiag.kinds.registry import register
from zdiag.tables import STR


class _Dpkt:
    """dpkt, imported on first use: only a capture file needs it (saves every text-only
    process its import)."""

    def __getattr__(self, name: str):
        import dpkt as real

        return getattr(real, name)


dpkt = _Dpkt()

PCAP_MAGICS = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1",
               b"\xa1\xb2\x3c\x4d")  # fmt: skip
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
PROTO_NAMES = {6: "TCP", 17: "UDP", 1: "ICMP", 58: "ICMPv6"}
#: link types handed straight to the IP decoders
RAW_LINKTYPES = {12, 14, 101, 228, 229}


def detect_bytes(head: bytes) -> bool:
    return head[:4] in PCAP_MAGICS or head[:4] == PCAPNG_MAGIC


def _reader(data: bytes, f: io.BytesIO | None = None):
    f = io.BytesIO(data) if f is None else f
    try:
        if data[:4] == PCAPNG_MAGIC:
            return dpkt.pcapng.Reader(f)
        return dpkt.pcap.Reader(f)
    except (dpkt.NeedData, dpkt.UnpackError, ValueError, struct.error) as exc:
        raise InputError(
            f"not a readable pcap/pcapng file: {exc or type(exc).__name__}", 1
        ) from None


def _ip_of(buf: bytes, linktype: int):
    """The IP packet of a frame, or (None, reason)."""
    if linktype == dpkt.pcap.DLT_EN10MB:
        etype = buf[12:14]
        if etype == b"\x08\x00":  # plain IPv4 / IPv6: skip building the Ethernet object
            return dpkt.ip.IP(buf[14:]), None
        if etype == b"\x86\xdd":
            return dpkt.ip6.IP6(buf[14:]), None
        eth = dpkt.ethernet.Ethernet(buf)
        ip = eth.data
        ip_type = eth.type in (dpkt.ethernet.ETH_TYPE_IP, dpkt.ethernet.ETH_TYPE_IP6)
        if ip_type and not isinstance(ip, dpkt.ip.IP | dpkt.ip6.IP6):
            return None, f"IP packet truncated or damaged ({len(buf)} bytes captured)"
    elif linktype in RAW_LINKTYPES:
        version = buf[0] >> 4 if buf else 0
        ip = dpkt.ip.IP(buf) if version == 4 else dpkt.ip6.IP6(buf) if version == 6 else None
        if ip is None:
            return None, f"not an IP packet (version nibble {version})"
    elif linktype in (dpkt.pcap.DLT_NULL, dpkt.pcap.DLT_LOOP):
        ip = dpkt.loopback.Loopback(buf).data
    elif linktype == dpkt.pcap.DLT_LINUX_SLL:
        ip = dpkt.sll.SLL(buf).data
    else:
        return None, f"link type {linktype} is not one zdiag decodes"
    if not isinstance(ip, dpkt.ip.IP | dpkt.ip6.IP6):
        return None, f"not an IP packet ({type(ip).__name__})"
    return ip, None


def _seglen(ip, tcp) -> int:
    """TCP payload length from the IP header (a capture may keep only the first bytes)."""
    if isinstance(ip, dpkt.ip.IP):
        total = ip.len - 4 * ip.hl
    else:
        total = ip.plen
    n = total - 4 * tcp.off
    return n if 0 <= n and total > 0 else len(tcp.data)


def _wscale(tcp) -> int:
    """Window-scale shift offered in a SYN's options, -1 when none."""
    try:
        for item in dpkt.tcp.parse_opts(tcp.opts):
            if item is None:  # dpkt's mark of a malformed option list: nothing after it
                break
            opt, val = item
            if opt == dpkt.tcp.TCP_OPT_WSCALE and len(val) == 1:
                return min(val[0], 14)
    except (dpkt.UnpackError, ValueError, IndexError):
        return -1
    return -1


def _header_end(data: bytes) -> int:
    """Where the records begin: after the 24-byte pcap header, or after pcapng's Section
    Header Block (its length at offset 4, in the byte order its magic gives)."""
    if data[:4] != PCAPNG_MAGIC:
        return 24
    order = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    try:
        return struct.unpack(order + "I", data[4:8])[0]
    except struct.error:
        return len(data)


_COLUMNS = ("frame", "ts", "src_ip", "dst_ip", "src_port", "dst_port", "protocol", "flags",
            "seq", "ack_num", "window", "data_len", "ip_id", "wscale")  # fmt: skip


def _row(frame: int, ts, buf: bytes, linktype: int) -> tuple | str:
    """One frame's values (in :data:`_COLUMNS` order), or why it is not a packet row."""
    try:
        ip, why = _ip_of(buf, linktype)
    except (dpkt.UnpackError, dpkt.NeedData, IndexError, ValueError) as exc:
        ip, why = None, f"frame truncated or not decodable ({type(exc).__name__})"
    if ip is None:
        return why
    fam = socket.AF_INET if isinstance(ip, dpkt.ip.IP) else socket.AF_INET6
    proto = ip.p if fam == socket.AF_INET else ip.nxt
    seg = ip.data
    if proto == 6 and not isinstance(seg, dpkt.tcp.TCP):
        return f"TCP header truncated or damaged ({len(buf)} bytes)"
    ip_id = ip.id if fam == socket.AF_INET else None
    if isinstance(seg, dpkt.tcp.TCP):
        wscale = _wscale(seg) if seg.flags & dpkt.tcp.TH_SYN else -2
        return (frame, float(ts), ip.src, ip.dst, seg.sport, seg.dport, "TCP", seg.flags,
                seg.seq, seg.ack, seg.win, _seglen(ip, seg), ip_id, wscale)  # fmt: skip
    ports = isinstance(seg, dpkt.udp.UDP)
    return (frame, float(ts), ip.src, ip.dst, seg.sport if ports else None,
            seg.dport if ports else None, PROTO_NAMES.get(proto, str(proto)), None, None,
            None, None, None, ip_id, -2)  # fmt: skip


def parse_bytes(data: bytes) -> tuple[dict[str, pd.DataFrame], Accounting]:
    fast = _fast_parse(data)
    if fast is not None:
        return fast
    cols: dict[str, list] = {k: [] for k in _COLUMNS}
    bad: list[tuple[int, str]] = []
    f = io.BytesIO(data)
    reader = _reader(data, f)
    linktype = reader.datalink()
    frame = 0
    it = iter(reader)
    while True:
        try:
            ts, buf = next(it)
        except StopIteration:
            break
        except (dpkt.NeedData, dpkt.UnpackError, ValueError) as exc:
            bad.append((frame, f"truncated or damaged record after frame {frame}: {exc}"))
            frame += 1
            break
        frame += 1
        try:
            row = _row(frame, ts, buf, linktype)
        except Exception as exc:  # noqa: BLE001 - dpkt on a damaged frame: the frame's fault
            row = f"frame truncated or not decodable ({type(exc).__name__})"
        if isinstance(row, str):
            bad.append((frame - 1, row))
            continue
        for name, value in zip(_COLUMNS, row, strict=True):
            cols[name].append(value)
    if not bad or not bad[-1][1].startswith("truncated"):
        # dpkt ends a capture quietly at a record it cannot read (a short or damaged block
        # header): the bytes after the last record it read are not lost silently
        rest = len(data) - f.tell()
        if rest > 0:
            bad.append((frame, f"truncated or damaged record after frame {frame}: {rest} "
                               f"bytes from offset {f.tell()} not read"))  # fmt: skip
            frame += 1
        elif frame == 0 and f.tell() > _header_end(data):
            # all read, yet not one packet record: blocks dpkt skips (damaged, or of a type
            # that holds no packet) make up the whole capture
            bad.append((0, f"no packet record in the {f.tell() - _header_end(data)} bytes "
                           "after the file header"))  # fmt: skip
            frame = 1
    acct = Accounting(frame)
    if cols["frame"]:
        acct.parsed(np.asarray(cols["frame"]) - 1)
    for idx, reason in bad:
        acct.unrecognised(idx, reason)
    return {"packets": _packets(cols)}, acct


# ---- the fast path: a classic pcap's plain TCP frames read with numpy ----------------------
_LE_MICRO, _BE_MICRO = b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4"
_TH_SYN = 0x02


def _record_offsets(data: bytes, order: str) -> np.ndarray | None:
    """Where each record header starts; None unless the records end exactly at the end of
    the file (a short or damaged last record: the dpkt path reports it)."""
    caplen = struct.Struct(order + "I").unpack_from
    end, at, out = len(data), 24, []
    append = out.append
    while at < end:
        if at + 16 > end:
            return None
        append(at)
        at += 16 + caplen(data, at + 8)[0]
    return np.asarray(out, dtype=np.int64) if at == end and out else None


class _Bytes:
    """Integers read at many offsets of a capture's bytes at once (numpy); an offset past
    the end reads the last byte (the masks that use such reads exclude those frames)."""

    def __init__(self, data: bytes, order: str):
        self.buf = np.frombuffer(data, dtype=np.uint8)
        self.last = len(self.buf) - 1
        self.order = order

    def u8(self, pos: np.ndarray) -> np.ndarray:
        return self.buf[np.minimum(pos, self.last)].astype(np.int64)

    def be(self, pos: np.ndarray, width: int) -> np.ndarray:
        """Big-endian (network order) unsigned integers of ``width`` bytes."""
        v = np.zeros(len(pos), dtype=np.int64)
        for k in range(width):
            v = (v << 8) | self.u8(pos + k)
        return v

    def rec(self, pos: np.ndarray) -> np.ndarray:
        """A 4-byte record header field, in the file's byte order."""
        if self.order == ">":
            return self.be(pos, 4)
        return (
            self.u8(pos) | self.u8(pos + 1) << 8 | self.u8(pos + 2) << 16 | self.u8(pos + 3) << 24
        )


def _fast_parse(data: bytes):
    """:func:`parse_bytes` for a classic microsecond pcap (either byte order) of Ethernet or
    raw IP frames, reading the record headers in one pass and the IP/TCP headers of all
    frames at once with numpy. Only frames whose row dpkt would decode without any choice
    are read this way: IPv4 without options and not a later fragment, or IPv6 without
    extension headers; TCP with a whole header, no SYN (window-scale options), and IP
    lengths that give the payload length. Every other frame goes through :func:`_row`
    (dpkt), so the table is the one the dpkt path gives (tested frame by frame). None when
    the file is not such a pcap (pcapng, nanoseconds, other link types, a damaged end)."""
    if len(data) < 24 or data[:4] not in (_LE_MICRO, _BE_MICRO):
        return None
    order = "<" if data[:4] == _LE_MICRO else ">"
    linktype = struct.unpack_from(order + "I", data, 20)[0]
    if linktype == 1:
        l2 = 14
    elif linktype in RAW_LINKTYPES:
        l2 = 0
    else:
        return None
    offs = _record_offsets(data, order)
    if offs is None:
        return None
    cap = _Bytes(data, order)
    u8, be = cap.u8, cap.be
    caplen = cap.rec(offs + 8)
    p = offs + 16  # the frame
    b = p + l2  # its IP header
    if l2:
        etype = be(p + 12, 2)
        v4 = (caplen >= l2 + 40) & (etype == 0x0800) & (u8(b) == 0x45)
        v6 = (caplen >= l2 + 60) & (etype == 0x86DD)
    else:
        v4 = (caplen >= 40) & (u8(b) == 0x45)
        v6 = (caplen >= 60) & (u8(b) >> 4 == 6)
    t = np.where(v4, b + 20, b + 40)  # the TCP header
    doff = u8(t + 12) >> 4
    flags = be(t + 12, 2) & 0x1FF
    ip_len = be(b + 2, 2)
    plen = be(b + 4, 2)
    tcp4 = v4 & (u8(b + 9) == 6) & ((be(b + 6, 2) & 0x1FFF) == 0) & (ip_len - 20 - 4 * doff >= 0)
    tcp6 = v6 & (u8(b + 6) == 6) & (plen >= 20) & (plen - 4 * doff >= 0)
    fast = np.flatnonzero((tcp4 | tcp6) & (doff >= 5) & ((flags & _TH_SYN) == 0))
    v4f, tf, bf = v4[fast], t[fast], b[fast]
    values = {
        "ts": cap.rec(offs[fast]) + cap.rec(offs[fast] + 4) / 1e6,  # as dpkt: sec + usec / 1e6
        "src_ip": _packed_text(cap.buf, bf + np.where(v4f, 12, 8), v4f),
        "dst_ip": _packed_text(cap.buf, bf + np.where(v4f, 16, 24), v4f),
        "src_port": be(tf, 2), "dst_port": be(tf + 2, 2), "flags": flags[fast],
        "seq": be(tf + 4, 4), "ack_num": be(tf + 8, 4), "window": be(tf + 14, 2),
        "data_len": np.where(v4f, ip_len[fast] - 20, plen[fast]) - 4 * doff[fast],
        "ip_id": np.where(v4f, be(bf + 4, 2), np.nan),
    }  # fmt: skip

    # the other frames, one by one as the dpkt path reads them
    bad: list[tuple[int, str]] = []
    slow: dict[int, tuple] = {}
    is_fast = np.zeros(len(offs), dtype=bool)
    is_fast[fast] = True
    for i in np.flatnonzero(~is_fast).tolist():
        at = int(p[i])
        sec, usec = struct.unpack_from(order + "II", data, int(offs[i]))
        try:
            row = _row(i + 1, sec + (usec / 1e6), data[at : at + int(caplen[i])], linktype)
        except Exception as exc:  # noqa: BLE001 - as in the dpkt path
            row = f"frame truncated or not decodable ({type(exc).__name__})"
        if isinstance(row, str):
            bad.append((i, row))
        else:
            slow[i] = row
    rows = np.union1d(fast, np.fromiter(slow, dtype=np.int64, count=len(slow)))
    acct = Accounting(len(offs))
    acct.parsed(rows)
    for idx, reason in bad:
        acct.unrecognised(idx, reason)
    return {"packets": _packets(_merged(rows, is_fast[rows], values, slow))}, acct


def _merged(rows: np.ndarray, from_numpy: np.ndarray, values: dict, slow: dict) -> dict:
    """:data:`_COLUMNS` for the parsed frames ``rows`` (in frame order): ``values`` for those
    read with numpy, the dpkt rows (``slow``) for the others; addresses as text, a missing
    number as NaN."""
    dpkt_rows = [slow[i] for i in rows[~from_numpy].tolist()]
    cols: dict = {"frame": rows + 1}
    for k, name in enumerate(_COLUMNS):
        if name == "frame":
            continue
        if name in ("protocol", "wscale"):  # TCP without SYN: no window-scale option read
            col = np.full(len(rows), "TCP" if name == "protocol" else -2, dtype=object)
        elif name in ("src_ip", "dst_ip"):
            col = np.empty(len(rows), dtype=object)
            col[from_numpy] = values[name]
        else:
            col = np.full(len(rows), np.nan)
            col[from_numpy] = values[name]
        other = [r[k] for r in dpkt_rows]
        if name in ("src_ip", "dst_ip"):
            other = _addresses(other) if other else other
        elif col.dtype != object:
            other = [np.nan if v is None else v for v in other]
        col[~from_numpy] = other
        cols[name] = col.astype(np.float64) if name == "wscale" else col
    return cols


def _packed_text(buf: np.ndarray, pos: np.ndarray, v4: np.ndarray) -> np.ndarray:
    """Addresses at ``pos`` (4 bytes where ``v4``, else 16) as text, each distinct one
    converted once."""
    out = np.empty(len(pos), dtype=object)
    for is4, fam, width in ((True, socket.AF_INET, 4), (False, socket.AF_INET6, 16)):
        sel = v4 == is4
        if not sel.any():
            continue
        raw = buf[pos[sel][:, None] + np.arange(width)]  # one row of bytes per address
        uniq, inv = np.unique(raw.view(f"V{width}").ravel(), return_inverse=True)
        text = np.array([socket.inet_ntop(fam, u.tobytes()) for u in uniq], dtype=object)
        out[sel] = text[inv.ravel()]
    return out


def _addresses(raw: list[bytes]) -> np.ndarray:
    """Packed addresses to text, converting each distinct address once."""
    codes, uniq = pd.factorize(pd.Series(raw, dtype=object), sort=False)
    text = np.array(
        [socket.inet_ntop(socket.AF_INET if len(a) == 4 else socket.AF_INET6, a) for a in uniq],
        dtype=object,
    )
    return text[codes]


def _packets(cols: dict[str, list]) -> pd.DataFrame:
    n = len(cols["frame"])
    if not n:
        return pd.DataFrame({"line": pd.array([], dtype="Int64")})
    if not isinstance(cols["src_ip"], np.ndarray):  # packed (the dpkt path); else text
        cols = {**cols, "src_ip": _addresses(cols["src_ip"]),
                "dst_ip": _addresses(cols["dst_ip"])}  # fmt: skip
    df = pd.DataFrame({k: v for k, v in cols.items()})
    df["src_port"] = pd.array(df["src_port"], dtype="Int64")
    df["dst_port"] = pd.array(df["dst_port"], dtype="Int64")
    tcp = (df["protocol"] == "TCP").to_numpy()
    flags = pd.to_numeric(df["flags"], errors="coerce").fillna(0).astype(np.int64).to_numpy()
    syn = tcp & (flags & dpkt.tcp.TH_SYN > 0)
    ackf = tcp & (flags & dpkt.tcp.TH_ACK > 0)
    sp, dp = df["src_port"].fillna(-1).to_numpy(), df["dst_port"].fillna(-1).to_numpy()
    # frames without an IP header have no address: an empty key side, not NaN
    a = (df["src_ip"] + "|" + df["src_port"].astype(str)).fillna("")
    b = (df["dst_ip"] + "|" + df["dst_port"].astype(str)).fillna("")
    lo = np.where(a.to_numpy() <= b.to_numpy(), a, b)
    hi = np.where(a.to_numpy() <= b.to_numpy(), b, a)
    key = pd.Series(lo, dtype=object) + "-" + pd.Series(hi, dtype=object)
    key[~tcp] = None
    g = pd.Series(pd.factorize(key, sort=False)[0])
    # which endpoint is local: receiver of the first pure SYN, else lower port, else dst of
    # the first frame
    first = pd.Series(np.arange(n)).groupby(g).transform("min").to_numpy()
    pure = pd.Series(np.where(syn & ~ackf, np.arange(n), n)).groupby(g).transform("min")
    pure = pure.to_numpy()
    ref = np.where(pure < n, pure, first)
    ref_dst = b.to_numpy()[ref]
    ref_src = a.to_numpy()[ref]
    port_rule = pure >= n
    sp_ref, dp_ref = sp[ref], dp[ref]
    local_ep = np.where(
        port_rule & (sp_ref < dp_ref) & (sp_ref >= 0), ref_src, ref_dst
    )  # fmt: skip
    outbound = a.to_numpy() == local_ep
    loc_ip = np.where(outbound, df["src_ip"], df["dst_ip"])
    rem_ip = np.where(outbound, df["dst_ip"], df["src_ip"])
    loc_port = np.where(outbound, sp, dp)
    rem_port = np.where(outbound, dp, sp)
    # a connection's local and remote sides are the same on all its frames: its text is made
    # once, from its first frame, and handed to the others
    codes = g.to_numpy()
    one = first[tcp][np.unique(codes[tcp], return_index=True)[1]] if tcp.any() else first[:0]
    text = np.array([f"{loc_ip[r]}:{loc_port[r]}-{rem_ip[r]}:{rem_port[r]}" for r in one.tolist()]
                    + [None], dtype=object)  # fmt: skip
    conn = pd.Series(text[np.where(tcp, codes, len(one))], dtype=object)
    secs = df["ts"].to_numpy(dtype=float)
    # a time past what the table's datetimes hold (a damaged record's timestamp: pandas
    # reaches 2262) is NaT, not a failed file (a float-to-int cast of it is undefined)
    ok = np.isfinite(secs) & (np.abs(secs) < 9.2e9)
    us = np.where(ok, np.round(np.where(ok, secs, 0.0) * 1e6), 0).astype(np.int64)
    us[~ok] = np.iinfo(np.int64).min  # NaT
    ts = pd.Series(pd.to_datetime(us, unit="us")).astype("datetime64[us]")
    delta = ts.groupby(g).diff().dt.total_seconds().fillna(0.0)
    nr = pd.Series(np.ones(n, np.int64)).groupby(g).cumsum()
    window = pd.to_numeric(df["window"], errors="coerce")
    window = _scale_windows(window, df["wscale"].to_numpy(), syn, outbound, g.to_numpy())
    out = pd.DataFrame(
        {
            "line": pd.array(df["frame"], dtype="Int64"),
            "conn": pd.array(conn, dtype=STR),
            "nr": pd.array(np.where(tcp, nr, pd.NA), dtype="Int64"),
            "ts": ts,
            # polars formats the clock (pandas' strftime was a tenth of the parse); a time
            # that is no time (a damaged record's NaT) stays null
            "time": pd.array(
                pl.Series(ts.to_numpy()).dt.strftime("%H:%M:%S%.6f").to_arrow(), dtype=STR
            ),
            "delta_s": pd.array(np.where(tcp, delta, np.nan), dtype="Float64"),
            "direction": pd.array(
                np.where(tcp, np.where(outbound, "out", "in"), None), dtype=STR
            ),  # fmt: skip
            "protocol": pd.array(df["protocol"], dtype=STR),
        }
    )
    for bit, name in ((dpkt.tcp.TH_SYN, "syn"), (dpkt.tcp.TH_ACK, "ack"),
                      (dpkt.tcp.TH_PUSH, "psh"), (dpkt.tcp.TH_FIN, "fin"),
                      (dpkt.tcp.TH_RST, "rst"), (dpkt.tcp.TH_URG, "urg")):  # fmt: skip
        out[name] = pd.array(np.where(tcp, flags & bit > 0, pd.NA), dtype="boolean")
    letters = np.full(n, "", dtype=object)
    for bit, ch in ((dpkt.tcp.TH_URG, "U"), (dpkt.tcp.TH_ACK, "A"), (dpkt.tcp.TH_PUSH, "P"),
                    (dpkt.tcp.TH_RST, "R"), (dpkt.tcp.TH_SYN, "S"),
                    (dpkt.tcp.TH_FIN, "F")):  # fmt: skip
        letters = letters + np.where(flags & bit > 0, ch, "")
    out["tcp_flags"] = pd.array(np.where(tcp, letters, None), dtype=STR)
    out["seq"] = pd.array(df["seq"], dtype="Int64")
    out["ack_num"] = pd.array(df["ack_num"], dtype="Int64")
    out["window"] = pd.array(window, dtype="Int64")
    out["data_len"] = pd.array(df["data_len"], dtype="Int64")
    out["ip_id"] = pd.array(df["ip_id"], dtype="Int64")
    out["src_ip"] = pd.array(df["src_ip"], dtype=STR)
    out["src_port"] = df["src_port"]
    out["dst_ip"] = pd.array(df["dst_ip"], dtype=STR)
    out["dst_port"] = df["dst_port"]
    out["local_ip"] = pd.array(np.where(tcp, loc_ip, None), dtype=STR)
    out["local_port"] = pd.array(np.where(tcp, loc_port, pd.NA), dtype="Int64")
    out["remote_ip"] = pd.array(np.where(tcp, rem_ip, None), dtype=STR)
    out["remote_port"] = pd.array(np.where(tcp, rem_port, pd.NA), dtype="Int64")
    out["ibm_flag"] = pd.array([None] * n, dtype=STR)
    return out


def _scale_windows(window: pd.Series, wscale: np.ndarray, syn: np.ndarray,
                   outbound: np.ndarray, g: np.ndarray) -> np.ndarray:  # fmt: skip
    """Scale non-SYN windows by the sender's shift when both SYNs offered one."""
    w = window.to_numpy(dtype=float)
    if not (syn & (wscale >= 0)).any():
        return w
    frame = pd.DataFrame({"g": g, "out": outbound, "ws": np.where(syn, wscale, np.nan)})
    first_ws = frame.dropna(subset=["ws"]).groupby(["g", "out"])["ws"].first().unstack()
    first_ws = first_ws.reindex(columns=[True, False])
    shift_l = first_ws[True].reindex(g).to_numpy()
    shift_r = first_ws[False].reindex(g).to_numpy()
    both = (shift_l >= 0) & (shift_r >= 0)
    shift = np.where(outbound, shift_l, shift_r)
    scaled = np.where(both & ~syn, w * np.exp2(np.nan_to_num(shift)), w)
    return scaled


register(
    Kind(
        name="pcap",
        description="packet traces exported as pcap or pcapng (IPCS CTRACE SYSTCPDA can "
        "write them); binary, read with dpkt",
        tables=("packets",),
        detect_bytes=detect_bytes,
        parse_bytes=parse_bytes,
        samples=("scenarios (generated): fixtures/pcap/*.pcap, *.pcapng",),
        path="dpkt reader per frame (the library's decoder), columns built once with numpy/pandas",
    )
)
