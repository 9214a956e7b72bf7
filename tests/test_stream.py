"""Large files parsed in pieces give the same tables as one whole parse."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

import zdiag
from zdiag import stream
from zdiag.tables import SCHEMAS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.gen import all_generators  # noqa: E402

SAMPLES = ROOT / "fixtures" / "systcpda"


def _same(a: pd.DataFrame, b: pd.DataFrame, name: str) -> None:
    extra = [c for c in a.columns if c not in SCHEMAS.get(name, {})]
    pd.testing.assert_frame_equal(a.drop(columns=extra), b.drop(columns=extra), obj=name)
    for c in extra:  # extra columns: same values (dtype may differ by piece)
        assert a[c].astype(object).where(a[c].notna(), None).tolist() == (
            b[c].astype(object).where(b[c].notna(), None).tolist()
        ), c


def _parse_both(path: Path, monkeypatch, chunk: int):
    whole = zdiag.parse([path])
    monkeypatch.setattr(stream, "MIN_BYTES", 0)
    monkeypatch.setattr(stream, "CHUNK_BYTES", chunk)
    return whole, zdiag.parse([path])


@pytest.mark.parametrize("chunk", [2_000, 30_000])
def test_generated_report_in_pieces_equals_whole(tmp_path, monkeypatch, chunk):
    path = tmp_path / "session.txt"
    all_generators()["systcpda.session"].write(path, 150_000, seed=3)
    whole, parts = _parse_both(path, monkeypatch, chunk)
    assert len(whole["packets"]) > 1000
    for name in ("packets", "sessions", "unrecognised"):
        _same(whole[name], parts[name], name)
    drop = ["seconds"]
    assert whole["files"].drop(columns=drop).equals(parts["files"].drop(columns=drop))


def test_real_samples_glued_and_truncated_in_pieces(tmp_path, monkeypatch):
    # blocks without First timestamp, a date line, an elision, garbage, no final line end
    parts = [SAMPLES / f for f in ("seed004_session_summary_conn_header.txt",
                                   "seed004_session_detail_reset_ex1.txt",
                                   "seed004_session_summary_packets.txt",
                                   "seed004_session_detail_zero_window.txt")]  # fmt: skip
    text = "**** 2007/08/24\n"
    for _ in range(6):
        for p in parts:
            text += p.read_text() + "a line zdiag does not know\n"
    path = tmp_path / "glued.txt"
    path.write_text(text + "    3   A      I u  965574369 25016")
    whole, pieces = _parse_both(path, monkeypatch, 1_500)
    for name in ("packets", "sessions", "unrecognised"):
        _same(whole[name], pieces[name], name)
    cols = ["lines", "parsed", "layout", "unrecognised", "sha256", "error_line"]
    assert whole["files"][cols].equals(pieces["files"][cols])
    assert "truncated" in pieces["files"]["notes"].iloc[0]


def test_parse_to_parquet_writes_parts_that_read_back(tmp_path, monkeypatch):
    path = tmp_path / "session.txt"
    all_generators()["systcpda.session"].write(path, 60_000, seed=5)
    monkeypatch.setattr(stream, "MIN_BYTES", 0)
    monkeypatch.setattr(stream, "CHUNK_BYTES", 10_000)
    counts = stream.parse_to_parquet([path], tmp_path / "out")
    parts = sorted((tmp_path / "out" / "packets").glob("part-*.parquet"))
    assert len(parts) > 2
    back = pd.read_parquet(tmp_path / "out" / "packets")
    assert len(back) == counts["packets"] == len(zdiag.parse([path])["packets"])
    assert list(back.columns[:4]) == ["case", "source", "line", "conn"]


def test_pieces_are_cut_only_before_a_block():
    data = (
        b"head\n"
        + b"".join(b"Local Ip Address: 10.0.0.%d\nrow\nrow\n" % i for i in range(50))
        + b"tail"
    )
    pos = [0]
    pieces = list(stream.iter_pieces(lambda n: _read(data, pos, n), b"Local Ip Address:", 40))
    assert b"".join(pieces) == data
    assert all(p.startswith(b"Local Ip Address:") for p in pieces[1:])
    assert len(pieces) > 5


def _read(data: bytes, pos: list[int], n: int) -> bytes:
    out = data[pos[0] : pos[0] + n]
    pos[0] += len(out)
    return out


def test_parquet_from_arrow_reads_back_as_the_pandas_tables(tmp_path, monkeypatch):
    # packets go polars → Arrow → parquet without pandas; reading them back must give
    # exactly the table zdiag.parse hands to users (values, dtypes, column order), and each
    # part must carry the same schema (pandas metadata included) as the pandas path writes
    import pyarrow as pa
    import pyarrow.parquet as pq

    from zdiag.tables import empty

    path = tmp_path / "session.txt"
    all_generators()["systcpda.session"].write(path, 80_000, seed=7)
    with path.open("a") as fh:  # a line no rule reads, in the last piece
        fh.write("this is not part of a session report\n")
    whole = zdiag.parse([path])
    monkeypatch.setattr(stream, "MIN_BYTES", 0)
    monkeypatch.setattr(stream, "CHUNK_BYTES", 7_000)
    counts = stream.parse_to_parquet([path], tmp_path / "out", case="c1")
    assert counts["unrecognised"] == 1
    for name in ("packets", "sessions", "unrecognised"):
        back = pd.read_parquet(tmp_path / "out" / name)
        want = whole[name].assign(case=pd.array(["c1"] * len(whole[name]), dtype="string"))
        cols = list(back.columns)  # zdiag.parse adds the TCP analysis columns after these
        assert cols[: len(SCHEMAS[name])] == list(SCHEMAS[name])
        pd.testing.assert_frame_equal(back, want[cols].reset_index(drop=True), obj=name)
    assert [str(t) for t in back.dtypes] == [str(t) for t in SCHEMAS["unrecognised"].values()]
    schema = pa.Schema.from_pandas(empty("packets"), preserve_index=False)
    for part in sorted((tmp_path / "out" / "packets").glob("part-*.parquet")):
        assert pq.read_schema(part).equals(schema, check_metadata=True)


def test_packet_rows_matched_in_slices_on_several_cores(tmp_path, monkeypatch):
    import polars as pl

    from zdiag.grammar import extract, row_regex
    from zdiag.kinds import systcpda_session as sess

    path = tmp_path / "session.txt"
    all_generators()["systcpda.session"].write(path, 40_000, seed=9)
    lines = path.read_text().split("\n")
    pattern = row_regex(sess.GRAMMAR, "packet_row")
    one = zdiag.parse([path])
    monkeypatch.setattr(sess, "_SLICE", 7)
    monkeypatch.setattr(sess.os, "cpu_count", lambda: 3)
    s = pl.Series("line", lines)
    sliced = sess._extract(s, pattern)
    assert sliced.equals(extract(s, pattern))
    assert sliced[sess.MATCH_GROUP].is_not_null().sum() > 100
    many = zdiag.parse([path])
    for name in ("packets", "sessions", "unrecognised"):
        pd.testing.assert_frame_equal(one[name], many[name], obj=name)


def test_a_failing_preparation_is_the_file_error_and_every_line_is_counted(tmp_path, monkeypatch):
    """``prepare_chunk`` runs one piece ahead on another thread; when it raises, the piece's
    lines are counted as unrecognised and the error names the parser, as for parse_chunk."""
    from zdiag.kinds import registry

    path = tmp_path / "session.txt"
    all_generators()["systcpda.session"].write(path, 60_000, seed=5)
    kind = registry.get("systcpda.session")
    real = kind.extra["prepare_chunk"]
    calls = []

    def broken(lines, acct):
        calls.append(len(lines))
        if len(calls) == 2:
            raise ValueError("boom in piece two")
        return real(lines, acct)

    monkeypatch.setattr(stream, "MIN_BYTES", 0)
    monkeypatch.setattr(stream, "CHUNK_BYTES", 20_000)
    monkeypatch.setitem(kind.extra, "prepare_chunk", broken)
    ts = zdiag.parse([path])
    row = ts["files"].iloc[0]
    assert len(calls) >= 3
    assert "systcpda.session parser failed: ValueError: boom in piece two" in row["error"]
    assert row["parsed"] + row["layout"] + row["unrecognised"] == row["lines"]
    failed = ts["unrecognised"]["reason"].str.contains("parser failed")
    # the failed piece's lines (all but its blank ones) are counted, not dropped
    assert failed.sum() == row["unrecognised"] > calls[1] * 0.8
    assert len(ts["packets"]) > 0  # the other pieces are still parsed


def test_polars_and_pandas_parts_are_the_same_files(tmp_path):
    # a piece's tables written from polars frames (columns beyond the schema included, such as
    # the sessions' application_remote) carry the schema and pandas metadata the pandas path
    # writes, and read back as the same table
    import pyarrow.parquet as pq

    from zdiag.kinds import systcpda_session as sess
    from zdiag.kinds.base import Accounting
    from zdiag.pipeline import _premark, _provenance

    path = tmp_path / "session.txt"
    all_generators()["systcpda.session"].write(path, 60_000, seed=5)
    lines = path.read_text().split("\n")
    acct = Accounting(len(lines))
    _premark(lines, acct)
    tables, _ = sess.parse_chunk(lines, acct, {"polars": True})
    assert "application_remote" in tables["sessions"].columns
    for name, frame in tables.items():
        pl_part = stream._provenance_pl(frame, "c", "s.txt", 0)
        pd_part = _provenance(sess.to_pandas(frame), "c", "s.txt")
        stream.write_part(tmp_path / "pl" / name, name, pl_part, part=0)
        stream.write_part(tmp_path / "pd" / name, name, pd_part, part=0)
        a, b = (tmp_path / d / name / "part-00000.parquet" for d in ("pl", "pd"))
        assert pq.read_schema(a).equals(pq.read_schema(b), check_metadata=True), name
        pd.testing.assert_frame_equal(pd.read_parquet(a), pd.read_parquet(b), obj=name)
