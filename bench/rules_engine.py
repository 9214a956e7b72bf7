"""Rules engine speed: 50 rules over 1,000,000 packet rows and 100,000 connection rows.

Not a test (timings never live in tests). Run:  python bench/rules_engine.py [--packets N]
Prints one line per phase and writes bench/rules_engine.json. The tables are synthetic but
have the real schemas (tables.SCHEMAS, plus the packet analysis columns); the 50 rules mix
the bundled ones with per-row selections, group_by + having aggregates, sequences, regex
matches and correlations, in roughly the proportions a knowledge base has.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from zdiag.rules.engine import run_rule, run_rules  # noqa: E402
from zdiag.rules.model import Rule, load_rules  # noqa: E402
from zdiag.tables import ANALYSIS_CLASSES, TableSet, conform  # noqa: E402

T0 = np.datetime64("2024-03-01T10:00:00", "us")


def make_packets(n: int, rng) -> pd.DataFrame:
    conns = max(1, n // 100)
    conn = rng.integers(0, conns, n)
    order = np.argsort(conn, kind="stable")
    conn = conn[order]
    ts = T0 + (np.sort(rng.integers(0, 3_600_000_000, n))).astype("timedelta64[us]")
    direction = rng.choice(np.array(["in", "out"]), n)
    flag = rng.choice(np.array([".", "r", "u", "z", "a", "k", "o"]), n,
                      p=[0.90, 0.02, 0.02, 0.01, 0.03, 0.01, 0.01])  # fmt: skip
    rst = rng.random(n) < 0.002
    df = pd.DataFrame(
        {
            "case": "", "source": np.where(conn % 2 == 0, "trace1.txt", "trace2.txt"),
            "line": np.arange(1, n + 1), "conn": np.char.add("c", conn.astype(str)),
            "nr": np.arange(1, n + 1), "ts": ts, "direction": direction, "protocol": "TCP",
            "syn": rng.random(n) < 0.01, "ack": rng.random(n) < 0.95, "psh": rng.random(n) < 0.3,
            "fin": rng.random(n) < 0.01, "rst": rst, "urg": False,
            "seq": rng.integers(0, 2**32, n), "ack_num": rng.integers(0, 2**32, n),
            "window": np.where(rng.random(n) < 0.01, 0, rng.integers(1, 65535, n)),
            "data_len": np.where(rng.random(n) < 0.5, 0, rng.integers(1, 1460, n)),
            "local_ip": "10.1.1.1", "local_port": 21 + conn % 1000,
            "remote_ip": np.char.add("10.9.0.", (conn % 250).astype(str)),
            "remote_port": 1024 + conn % 30000, "ibm_flag": flag,
            "analysis": "",
        }
    )  # fmt: skip
    for cls in ANALYSIS_CLASSES:
        df[cls] = rng.random(n) < 0.003
    df["retransmission"] = flag == "r"
    df["delta_s"] = rng.exponential(0.5, n)
    return conform("packets", df)


def make_connections(n: int, rng) -> pd.DataFrame:
    snap = rng.integers(0, 10, n)
    states = np.array(["ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "TIME_WAIT",
                       "LISTEN", "SYN_SENT"])  # fmt: skip
    state = rng.choice(states, n, p=[0.7, 0.03, 0.05, 0.05, 0.1, 0.05, 0.02])
    key = rng.integers(0, n // 10, n)
    df = pd.DataFrame(
        {
            "case": "", "source": "netstat.txt", "line": np.arange(1, n + 1), "stack": "TCPIP",
            "snapshot_ts": T0 + (snap * 60_000_000).astype("timedelta64[us]"),
            "user": rng.choice(np.array(["FTPD1", "CICS1", "DB2DIST", "TN3270"]), n),
            "conn_id": np.char.add("0000", key.astype(str)),
            "local_ip": "10.1.1.1", "local_port": 21 + key % 1000,
            "remote_ip": np.char.add("10.9.0.", (key % 250).astype(str)),
            "remote_port": 1024 + key % 30000, "state": state, "state_raw": state,
            "send_q": rng.integers(0, 100_000, n), "recv_q": rng.integers(0, 1000, n),
            "bytes_in": rng.integers(0, 10**9, n), "bytes_out": rng.integers(0, 10**9, n),
            "snd_wnd": rng.integers(0, 65535, n), "rexmt": rng.integers(0, 20, n),
            "smc": rng.choice(np.array(["", "Yes", "No"]), n),
            "ttls": rng.choice(np.array(["", "Policy: Yes", "Policy: No"]), n),
        }
    )  # fmt: skip
    return conform("connections", df)


def r(i: int, source: str, **kw) -> Rule:
    base = {"id": f"bench-{i:02d}", "title": f"bench rule {i}", "level": "medium",
            "source": source, "message": kw.pop("message", "hit")}  # fmt: skip
    base.update(kw)
    return Rule.from_dict(base)


def bench_rules() -> list[Rule]:
    rules = list(load_rules().rules)
    i = len(rules)
    P, C = "packets", "connections"
    conn4 = ["local_ip", "local_port", "remote_ip", "remote_port"]
    specs = [
        # per-row packet selections (rare matches)
        (P, dict(condition='rst and direction == "in" and window == 0')),
        (P, dict(condition="zero_window_probe and data_len > 1", message="{conn} {nr}")),
        (P, dict(condition="syn and fin")),
        (P, dict(condition='ibm_flag in ["k", "o"] and delta_s > 5s', message="{conn}")),
        (P, dict(condition="window == 0 and data_len > 1400")),
        (P, dict(condition="abs(delta_s - 3) < 0.001")),
        (P, dict(condition='previous_segment_not_captured and direction == "out"')),
        (P, dict(condition="urg")),
        (P, dict(condition="spurious_retransmission and rst")),
        (P, dict(condition='remote_ip matches "^10\\\\.9\\\\.0\\\\.1[0-9]$" and rst and syn')),
        # group_by + having over packets
        (P, dict(condition="retransmission", group_by=["conn"], having="count >= 8",
                 message="{conn}: {count} retransmissions")),
        (P, dict(condition="window == 0", group_by=["conn"], having="count >= 5 and span(ts) > 60s",
                 message="{conn} {span(ts)}")),
        (P, dict(condition="dup_ack", group_by=["conn"], having="count >= 4")),
        (P, dict(condition="data_len > 0", group_by=["conn"], having="sum(data_len) > 70000")),
        (P, dict(condition="true", group_by=["conn"], having="nunique(ibm_flag) >= 7")),
        (P, dict(condition="rst", group_by=["remote_ip"], having="count > 20",
                 message="{remote_ip} {count}")),
        (P, dict(condition="keepalive", group_by=["conn", "direction"], having="count >= 3")),
        (P, dict(condition="true", group_by=["conn"], having="max(delta_s) > 7 and mean(delta_s) > 0.6")),
        (P, dict(condition='ibm_flag == "z"', group_by=["source", "conn"], having="count >= 4",
                 message="{conn} first {first(ts)} last {last(ts)}")),
        (P, dict(condition="fin", group_by=["conn"], having="count >= 3")),
        # sequences
        (P, dict(where={"re": 'ibm_flag == "r" and direction == "out"', "rs": "rst"},
                 sequence=["re+", "rs"], group_by=["conn"], within="10m")),
        (P, dict(where={"z": "window == 0", "p": "zero_window_probe"},
                 sequence=["z", "p+"], group_by=["conn"], gap="> 1s")),
        (P, dict(where={"s": "syn", "f": "fin"}, sequence=["s", "f"], group_by=["conn"])),
        (P, dict(where={"k": 'ibm_flag == "k"', "u": 'ibm_flag == "u"'},
                 sequence=["k", "u+"], group_by=["conn"], within="5m")),
        # text operators
        (C, dict(condition='user startswith "DB2" and state == "CLOSE_WAIT" and recv_q > 990')),
        (C, dict(condition='ttls contains "Yes" and smc == "Yes" and state == "FIN_WAIT_1"',
                 message="{local_ip}:{local_port} {state_raw}")),
        (C, dict(condition='lower(user) == "tn3270" and send_q > 99900')),
        (C, dict(condition='conn_id matches "^00001[0-9]{3}$" and state == "SYN_SENT"')),
        (C, dict(condition='state_raw endswith "WAIT_2" and rexmt >= 19')),
        # connections: per row and grouped
        (C, dict(condition='state == "CLOSE_WAIT" and recv_q > 995')),
        (C, dict(condition="send_q > 99990")),
        (C, dict(condition='state not in ["ESTABLISHED", "LISTEN", "TIME_WAIT"] and rexmt == 19')),
        (C, dict(condition="bytes_in is null or snd_wnd == 0")),
        (C, dict(condition='state == "FIN_WAIT_1"', group_by=conn4,
                 having="count >= 2 and span(snapshot_ts) >= 2m",
                 message="{local_ip}:{local_port} <-> {remote_ip}:{remote_port} {count}x")),
        (C, dict(condition='state == "CLOSE_WAIT"', group_by=conn4, having="count >= 3")),
        (C, dict(condition="send_q > 50000", group_by=conn4, having="min(send_q) > 90000")),
        (C, dict(condition="true", group_by=["user"], having="nunique(state) >= 7")),
        (C, dict(condition='state == "SYN_SENT"', group_by=["remote_ip"], having="count > 50")),
        (C, dict(condition="rexmt > 10", group_by=conn4, having="count >= 4 and max(rexmt) >= 19")),
        (C, dict(condition='state == "TIME_WAIT"', group_by=["local_port"],
                 having="count > 200", message="{local_port} {count}")),
        (C, dict(condition='state == "LISTEN" and recv_q > 999')),
        # correlations connections -> packets
        (C, dict(condition='state == "FIN_WAIT_1" and smc == "Yes" and ttls contains "Yes"',
                 group_by=conn4, having="count >= 2",
                 correlate=[{"table": "packets", "on": {"remote_ip": "remote_ip",
                             "remote_port": "remote_port"}, "where": "rst"}])),
        (C, dict(condition='state == "CLOSE_WAIT" and recv_q > 990', group_by=conn4,
                 correlate=[{"table": "packets", "on": {"remote_port": "remote_port"},
                             "where": "fin", "require": True}])),
        (C, dict(condition="rexmt == 19 and send_q > 99000",
                 correlate=[{"table": "packets", "on": {"remote_port": "remote_port"},
                             "where": "retransmission"}])),
        (C, dict(condition='state == "SYN_SENT" and rexmt >= 18', group_by=conn4,
                 correlate=[{"table": "packets", "on": {"remote_ip": "remote_ip"},
                             "where": "syn and not ack"}])),
    ]  # fmt: skip
    for source, kw in specs:
        i += 1
        rules.append(r(i, source, **kw))
    extra = 50 - len(rules)
    for k in range(max(0, extra)):
        i += 1
        rules.append(r(i, P, condition=f"data_len == {1400 + k} and window < {k + 2}"))
    return rules[:50]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--connections", type=int, default=100_000)
    ap.add_argument("--out", default=str(Path(__file__).with_name("rules_engine.json")))
    ap.add_argument("--per-rule", action="store_true", help="also time each rule alone")
    args = ap.parse_args()
    rng = np.random.default_rng(7)
    t = time.perf_counter()
    tables = TableSet({"packets": make_packets(args.packets, rng),
                       "connections": make_connections(args.connections, rng)})  # fmt: skip
    t_data = time.perf_counter() - t
    rules = bench_rules()
    t = time.perf_counter()
    findings, errors = run_rules(rules, tables)
    t_rules = time.perf_counter() - t
    if errors:
        for e in errors:
            print("RULE ERROR", e, file=sys.stderr)
    result = {
        "rules": len(rules), "packets": args.packets, "connections": args.connections,
        "findings": len(findings), "rule_errors": len(errors),
        "seconds_generate": round(t_data, 2), "seconds_rules": round(t_rules, 2),
        "cpu_count": os.cpu_count(),
    }  # fmt: skip
    if args.per_rule:
        per = []
        for rule in rules:
            t = time.perf_counter()
            f = run_rule(rule, tables)
            per.append((time.perf_counter() - t, rule.id, len(f)))
        per.sort(reverse=True)
        for s, rid, n in per[:15]:
            print(f"  {s:7.3f}s {rid:<45} {n} findings")
        result["slowest"] = [{"rule": rid, "seconds": round(s, 3)} for s, rid, _n in per[:10]]
    print(f"{len(rules)} rules over {args.packets:,} packets + {args.connections:,} connections: "
          f"{t_rules:.2f} s, {len(findings):,} findings, {len(errors)} rule errors "
          f"(tables generated in {t_data:.1f} s)")  # fmt: skip
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
