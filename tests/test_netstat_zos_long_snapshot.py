"""One NETSTAT snapshot of a busy stack runs on for many MB (thousands of connections under
one title). The stream cuts it before a connection (a NETSTAT ALL block's ``Client Name:``
line, or a connection row) and carries the snapshot (stack, release, time) into the next
piece, so the tables equal one whole parse and no piece holds the whole snapshot."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tools.pieces import assert_same_parse, parse_in_pieces, pieces

import zdiag

KIND = "netstat.zos"
NS = Path(__file__).resolve().parents[1] / "fixtures" / "netstat"


def _real(name: str) -> list[str]:
    text = (NS / name).read_text(encoding="utf-8")
    return [ln for ln in text.splitlines(keepends=True) if not ln.startswith("#zdiag-sample")]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    """The real ALL block (message IDs) 120 times under its one title, then the real short
    connection table with its rows 12 times under one title, then a last snapshot."""
    all_lines = _real("tso_netstat_all_msgid_ttls_v2r4_partial.txt")
    title, block = all_lines[0], "".join(all_lines[1:])
    text = title
    for n in range(120):
        text += block.replace("Client Id: 000000BB", f"Client Id: {n:08X}").replace(
            "10.1.0.2..51844", f"10.1.{n // 250}.{n % 250}..{1024 + n}"
        )
    short = _real("uss_netstat_conn_short_v2r5_wmlz.txt")
    head = [i for i, ln in enumerate(short) if ln.startswith("-------")][0] + 1
    text += "".join(short[:head]) + "".join(short[head:]) * 12
    text += "".join(short)
    path = tmp_path_factory.mktemp("ns") / "one_snapshot.txt"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def whole(report):
    return zdiag.parse([report], kind=KIND)


def test_snapshots_are_cut_inside(report):
    got = pieces(report, KIND, 8_000)
    assert b"".join(got) == report.read_bytes()
    titled = [p for p in got if b"MVS TCP/IP NETSTAT" in p]
    assert len(got) > 15 and len(titled) <= 4
    assert max(len(p) for p in got) < 3 * 8_000


def test_whole_parse_stamps_every_connection(whole):
    conns = whole["connections"]
    rows = len(_real("uss_netstat_conn_short_v2r5_wmlz.txt")) - 4  # prompt, title, heading
    assert len(conns) == 120 + rows * 12 + rows
    assert whole["files"].iloc[0]["unrecognised"] == 0
    assert conns["snapshot_ts"].notna().all() and conns["release"].notna().all()
    assert conns["snapshot_ts"].nunique() == 2  # the two short tables print the same clock


@pytest.mark.parametrize("chunk", [9_000, 40_000])
def test_cut_inside_a_snapshot_equals_whole(report, whole, chunk):
    assert_same_parse(whole, parse_in_pieces(report, KIND, chunk))


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(6_000, 80_000))
def test_any_piece_size_equals_whole(report, whole, chunk):
    assert_same_parse(whole, parse_in_pieces(report, KIND, chunk))
