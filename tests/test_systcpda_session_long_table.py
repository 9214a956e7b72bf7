"""One connection whose packet table runs on for more than a piece (a long transfer: no
summary block for many MB). The stream cuts inside the table and carries the connection,
the table and the clock over the cut, so the tables equal one whole parse, and a piece
stays a piece (memory bounded) however long the table."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tools.pieces import assert_same_parse, parse_in_pieces, pieces

import zdiag
from zdiag import stream

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.gen.systcpda_session import write_long  # noqa: E402

KIND = "systcpda.session"


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("long") / "long.txt"
    write_long(path, 6_000, seed=4)
    return path


@pytest.fixture(scope="module")
def whole(report):
    return zdiag.parse([report], kind=KIND)


def test_the_long_table_is_cut_inside(report):
    got = pieces(report, KIND, 20_000)
    assert b"".join(got) == report.read_bytes()
    inside = [p for p in got[1:] if not p.lstrip(b" ").startswith(b"Local Ip Address:")]
    assert len(inside) > 10  # cut before packet rows, not only before blocks
    assert max(len(p) for p in got) < 3 * 20_000  # no piece holds the whole table


def test_whole_parse_reads_the_long_connection(whole):
    pk = whole["packets"]
    f = whole["files"].iloc[0]
    assert f["unrecognised"] == 0 and f["parsed"] + f["layout"] == f["lines"]
    conns = pk["conn"].unique()
    assert len(conns) == 3 and all(":" in c for c in conns)
    long_one = pk[pk["conn"] == pk["conn"].value_counts().index[0]]
    assert len(long_one) > 5_000
    ts = long_one["ts"].to_numpy()
    assert (np.diff(ts) >= np.timedelta64(0)).all()  # past midnight: the next day, not back
    assert long_one["ts"].dt.day.nunique() == 2


@pytest.mark.parametrize("chunk", [6_000, 77_777])
def test_cut_inside_the_table_equals_whole(report, whole, chunk):
    assert_same_parse(whole, parse_in_pieces(report, KIND, chunk))


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(4_000, 60_000))
def test_any_piece_size_equals_whole(report, whole, chunk):
    assert_same_parse(whole, parse_in_pieces(report, KIND, chunk))


def test_parquet_of_pieces_holds_the_same_packets(report, whole, tmp_path, monkeypatch):
    monkeypatch.setattr(stream, "MIN_BYTES", 0)
    monkeypatch.setattr(stream, "CHUNK_BYTES", 15_000)
    counts = stream.parse_to_parquet([report], tmp_path / "out", kind=KIND)
    back = pd.read_parquet(tmp_path / "out" / "packets")
    assert counts["packets"] == len(whole["packets"]) == len(back)
    assert back["conn"].tolist() == whole["packets"]["conn"].tolist()
    assert back["ts"].tolist() == whole["packets"]["ts"].tolist()
