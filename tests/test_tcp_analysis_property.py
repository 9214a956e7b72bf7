"""Property: the vectorised analysis equals a plain per-packet port of Wireshark's logic
(tests/tools/tcp_reference.py) on random connections, interleaved, with sequence wrap."""

from __future__ import annotations

import random

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from tools import scenarios, tcp_reference

from zdiag.analysis.tcp import CLASS_COLUMN, analyse

EVENTS = ("data", "ack", "dupack", "retrans", "gap", "keepalive", "zerowin", "probe",
          "window", "ack_ahead", "ooo")  # fmt: skip


def frame(seed: int, weights: dict, conns: int, n: int) -> pd.DataFrame:
    rng = random.Random(seed)
    parts = []
    for k in range(conns):
        c = scenarios.random_conv(rng, n, weights)
        start = rng.random()
        parts.append(pd.DataFrame({
            "conn": f"c{k}",
            "direction": [p.direction for p in c.pkts],
            "seq": [p.seq for p in c.pkts],
            "ack_num": [p.ack for p in c.pkts],
            "window": [p.win for p in c.pkts],
            "data_len": [p.length for p in c.pkts],
            "t": [start + p.t for p in c.pkts],
            **{f: [ch in p.flags for p in c.pkts]
               for f, ch in (("syn", "S"), ("ack", "A"), ("fin", "F"), ("rst", "R"))},
        }))  # fmt: skip
    df = pd.concat(parts, ignore_index=True).sort_values("t", kind="stable")
    us = (df["t"] * 1e6).round().astype("int64")
    df["ts"] = pd.to_datetime(us, unit="us")
    df["t_us"] = us
    return df.reset_index(drop=True)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    weights=st.lists(st.integers(0, 5), min_size=len(EVENTS), max_size=len(EVENTS)).filter(
        lambda w: w[0] + w[1] > 0
    ),
    conns=st.integers(1, 4),
    n=st.integers(1, 80),
)
def test_vectorised_equals_per_packet_reference(seed, weights, conns, n):
    df = frame(seed, dict(zip(EVENTS, weights, strict=True)), conns, n)
    rows = [
        {"conn": r["conn"], "dir": r["direction"], "seq": r["seq"], "ack": r["ack_num"],
         "ln": r["data_len"], "S": r["syn"], "A": r["ack"], "F": r["fin"], "R": r["rst"],
         "win": r["window"], "t": r["t_us"]}
        for r in df.to_dict("records")
    ]  # fmt: skip
    want = tcp_reference.analyse(rows)
    got = analyse(df)
    for i, r in enumerate(got.to_dict("records")):
        classes = {c for c, col in CLASS_COLUMN.items() if r[col] is True}
        num = None if pd.isna(r["dup_ack_num"]) else int(r["dup_ack_num"])
        assert (classes, num) == want[i], (i, df.iloc[i].to_dict())
