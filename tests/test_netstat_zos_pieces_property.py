"""NETSTAT reports of random shape, cut at random sizes (now also inside a snapshot, before a
connection), give the tables of one whole parse: ALL blocks, short connection tables, route
tables and unknown lines under titles or continuing the snapshot above."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tools.pieces import assert_text_in_pieces_equals_whole

KIND = "netstat.zos"
NS = Path(__file__).resolve().parents[1] / "fixtures" / "netstat"


def _real(name: str) -> list[str]:
    text = (NS / name).read_text(encoding="utf-8")
    return [ln for ln in text.splitlines() if not ln.startswith("#zdiag-sample")]


ALL = _real("tso_netstat_all_msgid_ttls_v2r4_partial.txt")  # title, one ALL block
SHORT = _real("uss_netstat_conn_short_v2r5_wmlz.txt")  # prompt, title, heading, rows
ROUTE = _real("uss_onetstat_r_route_v2r5.txt")

SEGMENTS = st.lists(
    st.tuples(st.sampled_from(["all_title", "all_block", "short", "short_rows", "route",
                               "garbage"]), st.integers(0, 999), st.integers(1, 12)),
    min_size=1, max_size=10,
)  # fmt: skip


def _report(segments) -> str:
    out: list[str] = []
    heading = next(i for i, ln in enumerate(SHORT) if ln.startswith("-------")) + 1
    for what, seed, n in segments:
        if what == "all_title":
            out.append(ALL[0].replace("16:40:39", f"16:{seed % 60:02d}:39"))
        elif what == "all_block":  # n blocks, continuing whatever snapshot is above
            for k in range(n):
                out += [ln.replace("Client Id: 000000BB", f"Client Id: {seed * 16 + k:08X}")
                        for ln in ALL[1:]]  # fmt: skip
        elif what == "short":
            out += SHORT[:heading] + SHORT[heading:][:n]
        elif what == "short_rows":  # rows continuing a short table above
            out += SHORT[heading:][seed % 5 : seed % 5 + n]
        elif what == "route":
            out += ROUTE
        else:
            out += ["a line zdiag does not know"]
    return "\n".join(out) + "\n"


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(SEGMENTS, st.integers(300, 5_000))
def test_any_shape_in_any_pieces_equals_whole(tmp_path, segments, chunk):
    assert_text_in_pieces_equals_whole(tmp_path, _report(segments), KIND, chunk)
