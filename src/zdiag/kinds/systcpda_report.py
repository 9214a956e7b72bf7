"""Kind ``systcpda.report``: IPCS CTRACE packet-trace formatter output that carries no
per-packet records: the IPCS header and option echo (OPTION report), STATISTICS counters
and per-key tables, STREAMS blocks, the EXPORT print. Components SYSTCPDA and SYSTCPIS
(the intrusion-detection trace uses the same formatter).

Tables:
- ``trace_stats``: one row per counter line (``report``, ``name``, ``value``: ``123 ctrace
  records processed``, ``2618 Streams found``) and per row of a per-key table (``report`` =
  the key, e.g. ``Record Type``; ``key`` as printed, e.g. ``1(Packet Trace)``; the five
  counts; first/last record number and timestamp);
- ``streams``: one row per STREAMS ``Session:`` block (both ends, protocol, from/to, packets).

Grammar: grammars/systcpda_common.lark (shared by all systcpda kinds, which also read these
sections when they follow a packet listing). Path: every rule is one row pattern run by
polars over the unmarked lines; rows are tied to their heading/block by position.
"""

from __future__ import annotations

import pandas as pd

from zdiag.kinds import systcpda_common as common
from zdiag.kinds.base import Accounting, Kind
from zdiag.kinds.registry import register


def parse(lines: list[str], acct: Accounting) -> dict[str, pd.DataFrame]:
    s = common.series(lines)
    common.mark_layout(lines, s, acct)
    out = common.parse_sections(lines, s, acct)
    acct.claim_rest("not a line of an IPCS packet-trace formatter report known to zdiag")
    return out


def detect(head: list[str]) -> float:
    text = "\n".join(head)
    score = 0.0
    if "COMPONENT TRACE" in text and "COMP(SYSTCP" in text:
        score = 0.5
    if "Packet Trace Formatter" in text or "OPTIONS((" in text and "Bootp(" in text:
        score = max(score, 0.5)
    if "Trace Statistics" in text or "Streams Report" in text or "Streams found" in text:
        score = max(score, 0.7)
    if "Export Report" in text and "records written" in text:
        score = max(score, 0.7)
    return score


register(
    Kind(
        name="systcpda.report",
        description="IPCS CTRACE COMP(SYSTCPDA|SYSTCPIS) formatter output without packet "
        "records: header and OPTION echo, STATISTICS, STREAMS, EXPORT print",
        tables=("trace_stats", "streams"),
        detect=detect,
        parse=parse,
        grammar=common.GRAMMAR,
        samples=(
            "systcpda/statistics_detail_ibm_wscollapsed.txt",
            "systcpda/streams_report_systcpis_session_block_wscollapsed.txt",
        ),
        extra={"lines": "series"},
        path="all lines: grammar row patterns (polars, vectorised) over the unmarked lines; "
        "rows tied to their heading by position (numpy searchsorted)",
    )
)
