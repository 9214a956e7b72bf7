"""syslog.zos in pieces: a JES2 multi-line message whose records a piece boundary splits is
joined as in a whole parse (issue 12): same rows, the first record's ``line``, same text."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zdiag
from zdiag import stream

ROOT = Path(__file__).resolve().parents[1]
JES2 = ROOT / "fixtures" / "messages" / "jes2_syslog_ipl_adcd_z111_hercules_mixed_records.txt"

# records in the layout of the JES2 fixture (SDSF columns; connect id right-aligned)
M = " M 4000000 ADCD     19286 05:25:{s:02d}.07 STC{j:05d} 00000090  IEE252I MEMBER X{n} FOUND {c}"
N = " N 0000000 ADCD     19286 05:25:{s:02d}.78          00000290  ISG359I GRS EXIT CACHE {n}"
D = " D                                         {c} 00000090      PART {n} OF {c}"
E = " E                                         {c} 00000090      DSNAME = SYS1.X{n}"


def _late_continuations(tasks: int = 40, filler: int = 30) -> str:
    """Multi-line messages of ``tasks`` tasks opened together, ``filler`` single-line
    messages, then their D records in reverse order, more filler, then their E records:
    every cut between an M line and its E record splits that message."""
    rows = [M.format(s=i % 60, j=i, n=i, c=100 + i) for i in range(tasks)]
    rows += [N.format(s=i % 60, n=i) for i in range(filler)]
    rows += [D.format(n=i, c=100 + i) for i in reversed(range(tasks))]
    rows += [N.format(s=i % 60, n=filler + i) for i in range(filler)]
    rows += [E.format(n=i, c=100 + i) for i in range(tasks)]
    return "\n".join(rows * 3) + "\n"  # connect ids reused by the next round's M lines


def _by_line(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values("line", kind="stable").reset_index(drop=True)


def _in_pieces(path: Path, chunk: int, monkeypatch):
    with monkeypatch.context() as mp:
        mp.setattr(stream, "MIN_BYTES", 0)
        mp.setattr(stream, "CHUNK_BYTES", chunk)
        mp.setattr(stream, "HEAD_BYTES", max(chunk, 4096))
        return zdiag.parse([path], kind="syslog.zos")


def _assert_same(whole, parts) -> None:
    a, b = _by_line(whole["messages"]), _by_line(parts["messages"])
    cols = ["line", "ts", "host", "job", "msg_id", "text", "multiline_id", "record_type"]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    f = ["lines", "parsed", "layout", "unrecognised"]
    assert whole["files"][f].equals(parts["files"][f])
    assert (
        parts["files"].iloc[0]["parsed"] + parts["files"].iloc[0]["layout"]
        == (parts["files"].iloc[0]["lines"])
    )


def _pieces(path: Path, chunk: int) -> int:
    from zdiag.kinds import registry

    marker = registry.get("syslog.zos").extra["chunk_marker"]
    with open(path, "rb") as fh:
        return sum(1 for _ in stream.iter_pieces(fh.read, marker, chunk))


def test_continuation_after_a_cut_joins_its_first_record(tmp_path, monkeypatch):
    path = tmp_path / "late.txt"
    path.write_text(_late_continuations(), encoding="utf-8")
    assert _pieces(path, 1_500) > 10
    whole = zdiag.parse([path], kind="syslog.zos")
    parts = _in_pieces(path, 1_500, monkeypatch)
    _assert_same(whole, parts)
    m = _by_line(parts["messages"])
    assert len(m) == 3 * (40 + 60)  # every D and E record joined, none a row of its own
    first = m.iloc[0]
    assert first["line"] == 1 and first["multiline_id"] == "100"
    assert first["text"] == "IEE252I MEMBER X0 FOUND PART 0 OF 100 DSNAME = SYS1.X0"
    # the last round reuses the connect ids: its records join its own M lines
    last_round = m[m["line"] > 2 * 180]  # a round is 180 lines
    assert len(last_round) == 100 and (last_round["text"].str.count("PART") <= 1).all()
    assert last_round["text"].str.contains("PART 39 OF 139 DSNAME = SYS1.X39").sum() == 1


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(chunk=st.integers(min_value=150, max_value=6_000))
def test_any_piece_size_gives_the_whole_result(chunk, tmp_path, monkeypatch):
    path = tmp_path / "late.txt"
    if not path.exists():
        path.write_text(_late_continuations(12, 7), encoding="utf-8")
    whole = zdiag.parse([path], kind="syslog.zos")
    _assert_same(whole, _in_pieces(path, chunk, monkeypatch))


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(chunk=st.integers(min_value=100, max_value=3_000))
def test_real_jes2_fixture_in_pieces_of_any_size(chunk, monkeypatch):
    _assert_same(zdiag.parse([JES2], kind="syslog.zos"), _in_pieces(JES2, chunk, monkeypatch))


def test_message_without_end_record_is_given_by_the_last_piece(tmp_path, monkeypatch):
    rows = [M.format(s=1, j=1, n=1, c=7)] + [N.format(s=2, n=i) for i in range(60)]
    rows += [D.format(n=1, c=7)]  # the log ends before the E record
    path = tmp_path / "open.txt"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert _pieces(path, 800) > 3
    whole = zdiag.parse([path], kind="syslog.zos")
    parts = _in_pieces(path, 800, monkeypatch)
    _assert_same(whole, parts)
    m = _by_line(parts["messages"])
    assert len(m) == 61 and m.iloc[0]["text"] == "IEE252I MEMBER X1 FOUND PART 1 OF 7"


def test_record_after_its_messages_end_record_is_a_fragment(tmp_path, monkeypatch):
    rows = [M.format(s=1, j=1, n=1, c=7), E.format(n=1, c=7)]
    rows += [N.format(s=2, n=i) for i in range(40)] + [D.format(n=9, c=7)]
    path = tmp_path / "after_end.txt"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    whole = zdiag.parse([path], kind="syslog.zos")
    m = whole["messages"]
    assert m.iloc[0]["text"] == "IEE252I MEMBER X1 FOUND DSNAME = SYS1.X1"
    frag = m[m["line"] == len(rows)].iloc[0]
    assert frag["text"] == "PART 9 OF 7" and frag["record_type"] == "D"
    _assert_same(whole, _in_pieces(path, 600, monkeypatch))
