"""SESSION reports of random shape, cut at random sizes (now also inside packet tables),
give the tables of one whole parse: blocks with and without tables, tables split by date
lines, headings or blank lines, packets above the first block, lines zdiag does not know."""

from __future__ import annotations

import random
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tools.pieces import assert_text_in_pieces_equals_whole

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.gen import systcpda_session as gen  # noqa: E402

KIND = "systcpda.session"


def _parts(seed: int, packets: int) -> tuple[list[str], list[str]]:
    """A generated connection: its summary lines and its table (heading first)."""
    lines, _, _ = gen._connection(random.Random(seed), 3600.0 * (seed % 24), "2007/08/24", packets)
    at = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("TcpHdr"))
    return lines[:at], lines[at:]


SEGMENTS = st.lists(
    st.tuples(
        st.sampled_from(["block", "block", "block", "table_only", "summary_only", "date",
                         "garbage", "split_table", "no_heading"]),
        st.integers(0, 10_000),
        st.integers(4, 120),
    ),
    min_size=1,
    max_size=8,
)  # fmt: skip


def _report(segments) -> str:
    out = gen.header("2007/08/24")
    for what, seed, n in segments:
        summary, table = _parts(seed, n)
        if what == "block":
            out += summary + table
        elif what == "table_only":  # packets with no block above them in this stretch
            out += table
        elif what == "summary_only":
            out += summary
        elif what == "date":
            out += [f"**** 2007/08/{25 + seed % 3:02d}", ""]
        elif what == "garbage":
            out += ["a line zdiag does not know", "  12 34 not a packet"]
        elif what == "split_table":  # a date line, then the heading again, inside a table
            half = len(table) // 2
            out += summary + table[:half] + ["**** 2007/08/25", table[0]] + table[half:]
        else:  # a table whose heading is missing
            out += summary + table[1:]
    return "\n".join(out) + "\n"


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(SEGMENTS, st.integers(400, 6_000))
def test_any_shape_in_any_pieces_equals_whole(tmp_path, segments, chunk):
    assert_text_in_pieces_equals_whole(tmp_path, _report(segments), KIND, chunk)
