"""Test-only: TCP scenarios written both as a pcap/pcapng (dpkt) and as the equivalent IPCS
CTRACE SYSTCPDA SESSION report text (connection summary fragment + SESSION DETAIL table in
the layout of /work/shared/samples/systcpda/seed004_* and FORMATS.md §4-§5).

    python tests/tools/scenarios.py OUTDIR      # writes <name>.pcap and <name>.txt each

The text's direction column and the summary's Local/Remote are relative to the z/OS stack
(LOCAL); the pcap carries the same segments between LOCAL and REMOTE. The F column carries
the letter the scenario gives (what IBM's formatter would plausibly print); it is input
for the IBM comparison, never the expected zdiag result.
"""

from __future__ import annotations

import socket
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dpkt

LOCAL = ("10.1.1.1", 21)
REMOTE = ("10.2.2.2", 1095)
T0 = datetime(2026, 11, 23, 10, 44, 43, 727489, tzinfo=UTC)
MSS = 1460


@dataclass
class Pkt:
    direction: str  # "in" (to LOCAL) or "out" (from LOCAL)
    flags: str  # letters of A P R S F
    seq: int
    ack: int
    win: int
    length: int
    t: float  # seconds since T0
    ibm: str = " "


@dataclass
class Conv:
    """Builds a segment list; tracks each side's next sequence number."""

    isn_local: int = 2501664216
    isn_remote: int = 965574368
    pkts: list[Pkt] = field(default_factory=list)
    t: float = 0.0

    def __post_init__(self):
        self.nxt = {"out": self.isn_local, "in": self.isn_remote}

    def send(self, direction: str, flags: str, length: int = 0, win: int = 65535,
             dt: float = 0.001, seq: int | None = None, ack: int | None = None,
             ibm: str = " ", advance: bool = True) -> Pkt:  # fmt: skip
        other = "in" if direction == "out" else "out"
        self.t += dt
        s = self.nxt[direction] if seq is None else seq
        a = (self.nxt[other] if "A" in flags else 0) if ack is None else ack
        p = Pkt(direction, flags, s % (1 << 32), a % (1 << 32), win, length, self.t, ibm)
        self.pkts.append(p)
        end = s + length + ("S" in flags) + ("F" in flags)
        if advance and end > self.nxt[direction]:
            self.nxt[direction] = end
        return p

    def handshake(self, rtt: float = 0.010):
        self.send("in", "S", dt=0.0)
        self.send("out", "AS", dt=0.0001)
        self.send("in", "A", dt=rtt)


# ---- the scenarios -----------------------------------------------------------------------


def normal_transfer() -> Conv:
    c = Conv()
    c.handshake()
    for _ in range(4):
        c.send("out", "A", MSS, ibm=".")
        c.send("out", "AP", MSS, dt=0.0002, ibm=".")
        c.send("in", "A", dt=0.010, ibm="a")
    c.send("out", "AF", dt=0.5)
    c.send("in", "A", dt=0.010, ibm="a")
    c.send("in", "AF", dt=0.001)
    c.send("out", "A", dt=0.0005, ibm="a")
    return c


def handshake_timeout() -> Conv:
    c = Conv(isn_local=1632413670, isn_remote=2499151066)
    c.send("in", "S", win=64512, dt=0.0)
    c.send("out", "AS", dt=0.000027)
    c.send("out", "AS", dt=2.943323, seq=1632413670, ibm="r")
    c.send("in", "S", win=64512, dt=0.002726, seq=2499151066, ibm="r")
    c.send("in", "S", win=64512, dt=5.919115, seq=2499151066, ibm="r")
    return c


def retrans_then_local_rst() -> Conv:
    c = Conv()
    c.handshake(rtt=0.0008)
    first = c.nxt["out"]
    c.send("out", "A", 8940, win=368640, dt=0.268, ibm=".")
    c.send("out", "AP", 3695, win=368640, dt=0.00014, ibm=".")
    c.send("out", "APF", win=368640, dt=0.0029, ibm="?")
    for back in (2.19, 4.44, 8.96, 17.82, 36.67):
        c.send("out", "AP", 8940, win=368640, dt=back, seq=first, ibm="r")
    c.send("out", "R", win=0, dt=72.83, seq=first, ack=c.nxt["in"])
    return c


def zero_window_probes_rst() -> Conv:
    c = Conv(isn_local=2800163549, isn_remote=3809785818)
    c.handshake()
    for w in (8192, 4096):
        c.send("out", "A", MSS, dt=0.001, ibm=".")
        c.send("out", "A", MSS, dt=0.0001, ibm=".")
        c.send("in", "A", win=w, dt=0.002, ibm="a")
    c.send("out", "A", MSS, dt=0.001, ibm=".")
    c.send("out", "A", MSS, dt=0.0001, ibm=".")
    c.send("in", "A", win=0, dt=0.002, ibm="z")
    for back in (0.26, 0.52, 1.04, 2.08):
        p = c.send("out", "A", 1, dt=back, advance=False, ibm="p")
        c.send("in", "A", win=0, dt=0.002, ack=p.seq, ibm="z")
    c.send("in", "R", win=0, dt=25.5, ack=0)
    return c


def ooo_gap_thousands() -> Conv:
    c = Conv()
    c.handshake(rtt=0.020)
    for _ in range(3):
        c.send("in", "AP", MSS, dt=0.0005, ibm=".")
    c.send("out", "A", dt=0.001, ibm="a")
    gap_start = c.nxt["in"]
    c.nxt["in"] += 3000 * MSS  # 3000 segments never reach the trace
    for _ in range(3):
        c.send("in", "AP", MSS, dt=0.0005, ibm="o")
        c.send("out", "A", dt=0.0001, ack=gap_start, ibm="u")
    # two segments from inside the hole arrive close behind (out of order)
    c.send("in", "AP", MSS, dt=0.0003, seq=gap_start, ibm="o")
    c.send("in", "AP", MSS, dt=0.0003, seq=gap_start + MSS, ibm="o")
    c.send("out", "A", dt=0.0001, ack=gap_start + 2 * MSS, ibm="a")
    return c


def keepalives_unanswered() -> Conv:
    c = Conv(isn_local=3101947168, isn_remote=1513769269)
    c.handshake()
    c.send("out", "AP", 54, dt=0.0003, ibm="+")
    c.send("in", "A", dt=0.166, ibm="a")
    c.send("out", "A", 0, dt=120.0, seq=c.nxt["out"] - 1, advance=False, ibm="k")
    c.send("in", "A", dt=0.0015, ibm="u")
    for _ in range(6):
        c.send("out", "A", 0, dt=75.0, seq=c.nxt["out"] - 1, advance=False, ibm="k")
    return c


def idle_then_inbound_rst() -> Conv:
    c = Conv()
    c.handshake()
    c.send("in", "AP", 120, dt=0.01, ibm="+")
    c.send("out", "AP", 300, dt=0.004, ibm="+")
    c.send("in", "A", dt=0.15, ibm="a")
    c.send("in", "R", win=0, dt=7260.25, ack=0)
    return c


def dupacks_fast_retransmit() -> Conv:
    c = Conv()
    c.handshake(rtt=0.030)
    lost = None
    for i in range(8):
        p = c.send("out", "A", MSS, dt=0.0002, ibm=".")
        if i == 2:
            lost = p.seq
    for i in range(5):
        c.send("in", "A", dt=0.030 if i == 0 else 0.0002, ack=lost, ibm="a" if i == 0 else "u")
    c.send("out", "A", MSS, dt=0.003, seq=lost, ibm="r")
    c.send("in", "A", dt=0.030, ibm="a")
    return c


def window_full_spurious_ack_lost() -> Conv:
    c = Conv()
    c.send("in", "S", win=2920, dt=0.0)
    c.send("out", "AS", dt=0.0001)
    c.send("in", "A", win=2920, dt=0.010)
    c.send("out", "A", MSS, dt=0.001, ibm=".")
    c.send("out", "AP", MSS, dt=0.0001, ibm=".")
    c.send("in", "A", win=2920, dt=0.010, ibm="a")
    c.send("out", "AP", MSS, dt=0.4, seq=c.nxt["out"] - 2 * MSS, ibm="r")
    c.send("out", "AP", MSS, dt=0.0001, ibm=".")
    # the peer ACKs data the trace never saw leave
    c.send("in", "A", win=2920, dt=0.010, ack=c.nxt["out"] + 4 * MSS, ibm="a")
    c.send("in", "AP", 100, win=5840, dt=0.002, ibm="+")
    c.send("out", "A", dt=0.001, ibm="a")
    c.send("out", "A", win=32768, dt=0.001, ibm="w")
    return c


def random_conv(rng, n: int = 60, weights: dict[str, float] | None = None) -> Conv:
    """A random but well-formed exchange: data, ACKs, duplicate ACKs, retransmissions,
    capture gaps, keepalives, zero windows and probes, window changes, sequence wrap."""
    c = Conv(isn_local=rng.randrange(1, 1 << 32), isn_remote=rng.randrange(1, 1 << 32))
    if rng.random() < 0.2:  # wrap the sequence space early
        c.nxt["out"] = (1 << 32) - rng.randrange(1, 5000)
    win = {"out": 65535, "in": rng.choice([8192, 65535])}
    last_ack = {}
    if rng.random() < 0.7:
        c.send("in", "S", win=win["in"], dt=0.0)
        c.send("out", "AS", win=win["out"], dt=0.0001)
        c.send("in", "A", win=win["in"], dt=rng.choice([0.0005, 0.01, 0.05]))
    weights = weights or {"data": 2, "ack": 1, "dupack": 1, "retrans": 1, "gap": 1,
                          "keepalive": 1, "zerowin": 1, "probe": 1, "window": 1,
                          "ack_ahead": 1, "ooo": 1}  # fmt: skip
    events, w = list(weights), list(weights.values())
    for ev in rng.choices(events, w, k=n):
        d = rng.choice(["in", "out"])
        o = "in" if d == "out" else "out"
        dt = rng.choice([0.00005, 0.0005, 0.002, 0.015, 0.3, 2.5])
        if ev == "data":
            c.send(d, rng.choice(["A", "AP"]), rng.choice([1, 2, 100, 1460]), win=win[d], dt=dt)
        elif ev == "ack":
            c.send(d, "A", win=win[d], dt=dt)
        elif ev == "dupack" and d in last_ack:
            c.send(d, "A", win=win[d], dt=dt, ack=last_ack[d])
        elif ev == "retrans":
            back = rng.choice([1, 100, 1460, 2920])
            c.send(d, "AP", rng.choice([1, 100, 1460]), win=win[d], dt=dt,
                   seq=c.nxt[d] - back, advance=rng.random() < 0.5)  # fmt: skip
        elif ev == "gap":
            c.nxt[d] += rng.choice([1, 1460, 14600])
            c.send(d, "AP", 1460, win=win[d], dt=dt)
        elif ev == "ooo":
            c.send(d, "AP", 1460, win=win[d], dt=dt, seq=c.nxt[d] + 1460, advance=False)
            c.send(d, "AP", 1460, win=win[d], dt=0.0001)
        elif ev == "keepalive":
            c.send(d, "A", rng.choice([0, 1]), win=win[d], dt=dt, seq=c.nxt[d] - 1,
                   advance=False)  # fmt: skip
        elif ev == "zerowin":
            win[d] = 0
            c.send(d, "A", win=0, dt=dt)
        elif ev == "probe":
            c.send(d, "A", 1, win=win[d], dt=dt, advance=rng.random() < 0.3)
        elif ev == "window":
            win[d] = rng.choice([0, 1460, 4096, 65535])
            c.send(d, "A", win=win[d], dt=dt)
        elif ev == "ack_ahead":
            c.send(d, "A", win=win[d], dt=dt, ack=c.nxt[o] + rng.choice([1, 1460]))
        if c.pkts and c.pkts[-1].direction == d:
            last_ack[d] = c.pkts[-1].ack
    end = rng.random()
    if end < 0.3:
        c.send(rng.choice(["in", "out"]), "R", win=0, dt=0.1, ack=0)
    elif end < 0.6:
        c.send("out", "AF", win=win["out"], dt=0.1)
        c.send("in", "AF", win=win["in"], dt=0.01)
        c.send("out", "A", win=win["out"], dt=0.001)
    return c


def write_random_pcap(path: Path, seed: int, conns: int = 10, n: int = 60) -> None:
    """Several random connections (distinct remote ports) interleaved in one pcap."""
    import random

    rng = random.Random(seed)
    allp: list[tuple[float, int, Pkt]] = []
    for k in range(conns):
        offset = rng.random() * 5
        for p in random_conv(rng, n).pkts:
            allp.append((p.t + offset, k, p))
    allp.sort(key=lambda x: x[0])
    with open(path, "wb") as f:
        w = dpkt.pcap.Writer(f)
        for i, (t, k, p) in enumerate(allp):
            q = Pkt(p.direction, p.flags, p.seq, p.ack, p.win, p.length, t)
            ts, buf = frames([q], remote_port=REMOTE[1] + k, ip_id=i + 1)[0]
            w.writepkt(buf, ts=ts)


SCENARIOS = {
    "normal_transfer": normal_transfer,
    "handshake_timeout": handshake_timeout,
    "retrans_then_local_rst": retrans_then_local_rst,
    "zero_window_probes_rst": zero_window_probes_rst,
    "ooo_gap_thousands": ooo_gap_thousands,
    "keepalives_unanswered": keepalives_unanswered,
    "idle_then_inbound_rst": idle_then_inbound_rst,
    "dupacks_fast_retransmit": dupacks_fast_retransmit,
    "window_full_spurious_ack_lost": window_full_spurious_ack_lost,
}


# ---- writers -------------------------------------------------------------------------------

_FLAG_BITS = {"A": dpkt.tcp.TH_ACK, "P": dpkt.tcp.TH_PUSH, "R": dpkt.tcp.TH_RST,
              "S": dpkt.tcp.TH_SYN, "F": dpkt.tcp.TH_FIN}  # fmt: skip


def frames(pkts: list[Pkt], remote_port: int = REMOTE[1], ip_id: int = 1):
    out = []
    remote = (REMOTE[0], remote_port)
    for i, p in enumerate(pkts):
        src, dst = (LOCAL, remote) if p.direction == "out" else (remote, LOCAL)
        bits = 0
        for ch in p.flags:
            bits |= _FLAG_BITS[ch]
        tcp = dpkt.tcp.TCP(sport=src[1], dport=dst[1], seq=p.seq, ack=p.ack, flags=bits,
                           win=min(p.win, 65535), data=b"x" * p.length)  # fmt: skip
        ip = dpkt.ip.IP(src=socket.inet_aton(src[0]), dst=socket.inet_aton(dst[0]),
                        p=dpkt.ip.IP_PROTO_TCP, id=(i + ip_id) & 0xFFFF, data=tcp, ttl=64)  # fmt: skip
        ip.len = 20 + len(bytes(tcp))
        eth = dpkt.ethernet.Ethernet(src=b"\x02\x00\x00\x00\x00\x01",
                                     dst=b"\x02\x00\x00\x00\x00\x02",
                                     type=dpkt.ethernet.ETH_TYPE_IP, data=ip)  # fmt: skip
        out.append((T0.timestamp() + p.t, bytes(eth)))
    return out


def write_pcap(pkts: list[Pkt], path: Path, ng: bool = False) -> None:
    with open(path, "wb") as f:
        w = dpkt.pcapng.Writer(f) if ng else dpkt.pcap.Writer(f, nano=False)
        for ts, buf in frames(pkts):
            w.writepkt(buf, ts=ts)


def _tcphdr(flags: str) -> str:
    slot = [" "] * 5  # A P (U) S|R F
    if "A" in flags:
        slot[0] = "A"
    if "P" in flags:
        slot[1] = "P"
    if "S" in flags:
        slot[3] = "S"
    if "R" in flags:
        slot[3] = "R"
    if "F" in flags:
        slot[4] = "F"
    return "".join(slot)


HEADING = " TcpHdr   IO F        Seq        Ack RcvWnd  Data Delta Time       TimeStamp"


def ipcs_text(pkts: list[Pkt], windows_fit: bool = True) -> str:
    """The SESSION report fragment for one connection, then its SESSION DETAIL table."""
    first = T0 + timedelta(seconds=pkts[0].t)
    last = T0 + timedelta(seconds=pkts[-1].t)
    stamp = "%Y/%m/%d %H:%M:%S.%f"
    lines = [
        f"Local Ip Address:{LOCAL[0]:>36}",
        f"Remote Ip Address:{REMOTE[0]:>42}",
        "",
        "Host:                                 Local,          Remote",
        "Client or Server:                    Server,          Client",
        f" Port:{LOCAL[1]:>37},{REMOTE[1]:>16}",
        " Application:                        ftp,,",
        " Link speed (parm):                      10,              10 Megabits/s",
        "",
        "Connection:",
        f" First timestamp:                 {first.strftime(stamp)}",
        f" Last timestamp:                  {last.strftime(stamp)}",
        "",
        HEADING,
    ]
    prev = pkts[0].t
    for nr, p in enumerate(pkts, start=1):
        ts = T0 + timedelta(seconds=p.t)
        io = "I" if p.direction == "in" else "O"
        win = min(p.win, 65535) if windows_fit else p.win
        lines.append(
            f"{nr:<3} {_tcphdr(p.flags)}  {io} {p.ibm[:1] or ' '} {p.seq:>10} {p.ack:>10} "
            f"{win:>6} {p.length:>5} {p.t - prev:>10.6f} {ts.strftime('%H:%M:%S.%f')}"
        )
        prev = p.t
    return "\n".join(lines) + "\n"


def write_all(outdir: Path) -> list[Path]:
    """Every scenario as ``<name>.pcap`` and ``<name>.txt`` in ``outdir``."""
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in SCENARIOS.items():
        pkts = make().pkts
        write_pcap(pkts, outdir / f"{name}.pcap")
        (outdir / f"{name}.txt").write_text(ipcs_text(pkts))
        written += [outdir / f"{name}.pcap", outdir / f"{name}.txt"]
    return written


def write_pcap_fixtures(outdir: Path) -> list[Path]:
    """The two parser fixtures of kind pcap: one pcap, one pcapng."""
    outdir.mkdir(parents=True, exist_ok=True)
    a, b = outdir / "normal_transfer.pcap", outdir / "zero_window_probes_rst.pcapng"
    write_pcap(normal_transfer().pkts, a)
    write_pcap(zero_window_probes_rst().pkts, b, ng=True)
    return [a, b]


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[2] / "fixtures"
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else root / "scenarios"
    for p in write_all(out):
        print("wrote", p)
    if len(sys.argv) == 1:
        for p in write_pcap_fixtures(root / "pcap"):
            print("wrote", p)


def pkts_from_packets(df) -> list[Pkt]:
    """A parsed ``packets`` table (one connection) back to segments, for writing a pcap of
    a text trace. Times: the timestamps, or the running sum of Delta Time when the text has
    none. Windows above 65535 (IBM prints scaled windows) are capped: pcap has 16 bits."""
    import numpy as np
    import pandas as pd

    ts = df["ts"]
    if ts.isna().any():
        t = np.cumsum(pd.to_numeric(df["delta_s"]).fillna(0).to_numpy())
    else:
        t = ((ts - ts.iloc[0]).dt.total_seconds()).to_numpy()
    out = []
    for i, r in enumerate(df.to_dict("records")):
        flags = "".join(ch for ch, col in (("A", "ack"), ("P", "psh"), ("R", "rst"),
                                            ("S", "syn"), ("F", "fin")) if r[col])  # fmt: skip
        out.append(Pkt(r["direction"], flags, int(r["seq"]), int(r["ack_num"]),
                       min(int(r["window"]), 65535), int(r["data_len"]), float(t[i])))  # fmt: skip
    return out
