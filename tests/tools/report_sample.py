"""A realistic scan result for the reporter tests and the README picture.

The rules engine is built in parallel, so the findings here are written by hand: what the
bundled rules are meant to say about the real SESSION DETAIL trace
``fixtures/systcpda/seed004_session_detail_reset_ex1.txt`` (IBM technote swg27011272,
"Example 1": data retransmitted with growing delays, then an outbound RST). Their evidence
cites real rows of the parsed ``packets`` table by (source, line).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import zdiag
from zdiag.tables import TableSet, conform

ROOT = Path(__file__).resolve().parents[2]
TRACE = "fixtures/systcpda/seed004_session_detail_reset_ex1.txt"

RULES = [
    {
        "id": "tcp-retransmit-then-local-reset",
        "title": "Outbound data retransmitted with back-off, then reset by the local stack",
        "level": "critical",
        "description": "The remote side stopped acknowledging data; the local stack "
        "retransmitted with growing delays and gave up with a RST.",
        "remedy": "Check the path to the peer (firewall idle timers, routing); compare with "
        "a trace on the peer side.",
        "references": ["IBM technote swg27011272", "RFC 6298"],
    },
    {
        "id": "tcp-retransmission-burst",
        "title": "Five or more retransmissions of one segment",
        "level": "high",
        "description": "One sequence number was sent again and again.",
        "remedy": "Look for packet loss between the hosts.",
        "references": ["RFC 6298"],
    },
    {
        "id": "tcp-long-delta",
        "title": "A gap of more than 30 s between packets of one connection",
        "level": "medium",
        "description": "The connection was silent for a long time.",
        "remedy": "Compare with the FTP DATACTTIME and the firewall's idle timeout.",
        "references": ["IBM technote swg27011272"],
    },
    {
        "id": "ibm-flag-fin-question",
        "title": "Formatter marked a FIN packet with '?'",
        "level": "low",
        "description": "IPCS could not classify the packet; zdiag's own analysis decides.",
        "remedy": "None needed; shown for completeness.",
        "references": [],
    },
    {
        "id": "trace-no-ip-addresses",
        "title": "Per-packet table without its connection header",
        "level": "info",
        "description": "The SESSION DETAIL table was cut from its summary block.",
        "remedy": "Format the trace with OPTIONS((SESSION DETAIL)) and keep the whole report.",
        "references": [],
    },
    {
        "id": "ph48237-finwait1-smc-ttls",
        "title": "AT-TLS over SMC connection stuck in FIN_WAIT_1 (APAR PH48237)",
        "level": "critical",
        "description": "Not present in this trace.",
        "remedy": "Apply the PTF.",
        "references": ["APAR PH48237"],
    },
]


def ev(lines, table="packets", source=TRACE):
    return [{"table": table, "source": source, "line": n} for n in lines]


def sample(root: Path = ROOT, extra_findings: list[dict] | None = None):
    """(tables, findings, rules_meta) for the reset trace, sources relative to ``root``."""
    import os

    here = os.getcwd()
    os.chdir(root)
    try:
        tables = zdiag.parse([TRACE])
    finally:
        os.chdir(here)
    pk = tables["packets"]
    ts = dict(zip(pk["line"].tolist(), pk["ts"].tolist(), strict=True))

    def finding(rule, lines, message, key, evidence=None):
        meta = next(r for r in RULES if r["id"] == rule)
        return {
            "rule_id": rule, "level": meta["level"], "title": meta["title"], "case": "",
            "source": TRACE, "line": lines[0], "lines": list(lines), "key": key,
            "message": message, "remedy": meta["remedy"], "references": meta["references"],
            "evidence": evidence if evidence is not None else ev(lines),
            "first_ts": ts.get(lines[0]), "last_ts": ts.get(lines[-1]),
        }  # fmt: skip

    rows = [
        finding("tcp-retransmit-then-local-reset", [8, 11, 12, 13, 14, 15, 16],
                "table1: seq 2501664217 sent 6 times over 70.1 s (2.2, 4.4, 9.0, 17.8, "
                "36.7 s apart), then RST from the local side", "table1"),
        finding("tcp-retransmission-burst", [11, 12, 13, 14, 15],
                "table1: 5 retransmissions of seq 2501664217 (8940 bytes)",
                "table1 seq=2501664217"),
        finding("tcp-long-delta", [15, 16],
                "table1: 72.8 s between packet 11 and the RST (packet 12)", "table1 nr=12"),
        finding("tcp-long-delta", [14, 15],
                "table1: 36.7 s between packets 10 and 11", "table1 nr=11"),
        finding("ibm-flag-fin-question", [10],
                "table1 packet 6: FIN with IBM flag '?'", "table1 nr=6"),
        finding("trace-no-ip-addresses", [5],
                "table1: 12 packets without local/remote address or port", "table1"),
    ]  # fmt: skip
    rows += extra_findings or []
    findings = conform("findings", pd.DataFrame(rows))
    return TableSet(dict(tables.items())), findings, [dict(r) for r in RULES]
