"""Benchmark (not a test): zdiag's TCP analysis on 1,000,000 packets, and zdiag against
``tshark -q -z expert`` on the same pcap, measured in one run.

    python bench/tcp_analysis.py [--packets 1000000] [--conns 2000] [--keep DIR]

The pcap is synthetic: ``--conns`` connections of random but well-formed traffic (data,
ACKs, duplicate ACKs, retransmissions, capture gaps, keepalives, zero windows and probes,
sequence wrap; tests/tools/scenarios.random_conv), interleaved in time. Frames keep only the
Ethernet/IP/TCP headers (snap length 54, as a header-only capture would); the IP length says
how much payload the segment carried. Reported:

- analysis: ``zdiag.analysis.tcp.analyse`` + ``conn_analysis`` on the packets table
  (packets/s), the part that replaces tshark's expert pass;
- zdiag end to end: ``zdiag.parse`` of the pcap (dpkt read + tables + analysis);
- tshark: ``tshark -q -z expert -r FILE`` wall time;
- ratios tshark / zdiag for both.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from tools import scenarios  # noqa: E402

import zdiag  # noqa: E402
from zdiag.analysis.tcp import analyse, conn_analysis  # noqa: E402

FLAG_BITS = {"F": 1, "S": 2, "R": 4, "P": 8, "A": 16}
#: event mix: mostly data and ACKs, a few percent of trouble
MIX = {"data": 60, "ack": 30, "dupack": 2, "retrans": 1, "gap": 0.5, "keepalive": 0.5,
       "zerowin": 0.05, "probe": 0.3, "window": 2, "ack_ahead": 0.2, "ooo": 0.5}  # fmt: skip


def traffic(n_packets: int, n_conns: int, seed: int = 1):
    """Column arrays of ``n_packets`` packets over ``n_conns`` connections."""
    rng = random.Random(seed)
    per = max(10, n_packets // n_conns)
    cols = {k: [] for k in ("t", "k", "out", "flags", "seq", "ack", "win", "len")}
    total = 0
    k = 0
    while total < n_packets:
        c = scenarios.random_conv(rng, per, MIX)
        pk = c.pkts[: n_packets - total]
        start = rng.random() * 60
        cols["t"] += [start + p.t for p in pk]
        cols["k"] += [k] * len(pk)
        cols["out"] += [p.direction == "out" for p in pk]
        cols["flags"] += [sum(FLAG_BITS[ch] for ch in p.flags) for p in pk]
        cols["seq"] += [p.seq for p in pk]
        cols["ack"] += [p.ack for p in pk]
        cols["win"] += [min(p.win, 65535) for p in pk]
        cols["len"] += [p.length for p in pk]
        total += len(pk)
        k += 1
    arr = {k: np.asarray(v) for k, v in cols.items()}
    order = np.argsort(arr["t"], kind="stable")
    return {k: v[order] for k, v in arr.items()}


def write_pcap(path: Path, tr) -> None:
    """Header-only frames built with numpy (one structured array, one write)."""
    n = len(tr["t"])
    rec = np.dtype(
        [("ts_sec", "<u4"), ("ts_usec", "<u4"), ("caplen", "<u4"), ("len", "<u4"),
         ("eth", "S12"), ("etype", ">u2"),
         ("vihl", "u1"), ("tos", "u1"), ("iplen", ">u2"), ("ipid", ">u2"), ("frag", ">u2"),
         ("ttl", "u1"), ("proto", "u1"), ("ipsum", ">u2"), ("src", ">u4"), ("dst", ">u4"),
         ("sport", ">u2"), ("dport", ">u2"), ("seq", ">u4"), ("ack", ">u4"), ("off", "u1"),
         ("flags", "u1"), ("win", ">u2"), ("tsum", ">u2"), ("urp", ">u2")]
    )  # fmt: skip
    a = np.zeros(n, dtype=rec)
    us = np.round((1_700_000_000 + tr["t"]) * 1e6).astype(np.int64)
    a["ts_sec"], a["ts_usec"] = us // 1_000_000, us % 1_000_000
    a["caplen"] = 54
    a["len"] = 54 + tr["len"]
    a["eth"] = b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02"
    a["etype"] = 0x0800
    a["vihl"], a["ttl"], a["proto"] = 0x45, 64, 6
    a["iplen"] = 40 + tr["len"]
    a["ipid"] = np.arange(n) & 0xFFFF
    local = 0x0A010101
    remote = 0x0A020000 + (tr["k"] // 60000)
    out = tr["out"]
    a["src"] = np.where(out, local, remote)
    a["dst"] = np.where(out, remote, local)
    rport = 1024 + tr["k"] % 60000
    a["sport"] = np.where(out, 21, rport)
    a["dport"] = np.where(out, rport, 21)
    a["seq"], a["ack"] = tr["seq"], tr["ack"]
    a["off"] = 5 << 4
    a["flags"] = tr["flags"]
    a["win"] = tr["win"]
    header = np.array([0xA1B2C3D4, 0x00040002, 0, 0, 65535, 1], dtype="<u4").tobytes()
    with open(path, "wb") as f:
        f.write(header)
        f.write(a.tobytes())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--conns", type=int, default=2000)
    ap.add_argument("--keep", type=Path, default=None, help="directory to keep the pcap in")
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "tcp_analysis.json",
                    help="where to write the figures (default bench/tcp_analysis.json)")  # fmt: skip
    args = ap.parse_args()
    load = os.getloadavg()

    tmp = Path(tempfile.mkdtemp(prefix="zdiag-bench-"))
    pcap = (args.keep or tmp) / f"tcp_{args.packets}.pcap"
    t0 = time.perf_counter()
    write_pcap(pcap, traffic(args.packets, args.conns))
    print(f"pcap: {pcap} ({pcap.stat().st_size / 1e6:.0f} MB), "
          f"{time.perf_counter() - t0:.1f} s to generate")  # fmt: skip

    t0 = time.perf_counter()
    tables = zdiag.parse([pcap])
    t_parse = time.perf_counter() - t0
    packets = tables["packets"]
    n = len(packets)
    assert n == args.packets, (n, args.packets)

    t0 = time.perf_counter()
    got = analyse(packets)
    conn_analysis(got)
    t_analysis = time.perf_counter() - t0

    tshark = shutil.which("tshark")
    t_tshark = None
    if tshark:
        t0 = time.perf_counter()
        subprocess.run([tshark, "-q", "-z", "expert", "-r", str(pcap)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        t_tshark = time.perf_counter() - t0

    flagged = int((got["analysis"] != "").sum())
    print(f"packets: {n:,} in {got['conn'].nunique():,} connections, {flagged:,} flagged")
    print(f"zdiag analysis (analyse + conn_analysis): {t_analysis:.2f} s = "
          f"{n / t_analysis:,.0f} packets/s")  # fmt: skip
    print(f"zdiag end to end (zdiag.parse: dpkt read + tables + analysis): {t_parse:.2f} s = "
          f"{n / t_parse:,.0f} packets/s")  # fmt: skip
    if t_tshark is not None:
        print(f"tshark -q -z expert: {t_tshark:.2f} s = {n / t_tshark:,.0f} packets/s")
        print(f"ratio tshark / zdiag analysis: {t_tshark / t_analysis:.1f}x")
        print(f"ratio tshark / zdiag end to end: {t_tshark / t_parse:.2f}x")
    else:
        print("tshark not installed: no comparison")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"zdiag peak RSS (parse and analysis, in process): {peak:,.0f} MB")
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_start": load,
        },  # fmt: skip
        "pcap": {
            "packets": n,
            "connections": int(got["conn"].nunique()),
            "bytes": pcap.stat().st_size,
            "flagged": flagged,
        },  # fmt: skip
        "zdiag_analysis_seconds": round(t_analysis, 3),
        "zdiag_end_to_end_seconds": round(t_parse, 3),
        "zdiag_peak_rss_mb": round(peak, 1),
        "tshark_expert_seconds": None if t_tshark is None else round(t_tshark, 3),
        "tshark_over_zdiag_analysis": None if t_tshark is None else round(t_tshark / t_analysis, 2),
        "tshark_over_zdiag_end_to_end": None if t_tshark is None else round(t_tshark / t_parse, 2),
    }
    args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"written {args.json}")
    if args.keep is None:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
