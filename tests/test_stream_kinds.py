"""Kinds other than systcpda.session parsed in pieces give the same tables as one whole parse
(real fixtures glued together and generated multi-MB reports), line numbers included."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

import zdiag
from zdiag import stream
from zdiag.kinds import registry
from zdiag.tables import SCHEMAS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.gen import all_generators  # noqa: E402

#: kind -> fixture folder holding its real layouts
FOLDERS = {
    "netstat.zos": "netstat",
    "syslog.zos": "messages",
    "systcpda.summary": "systcpda",
    "netstat.peer": "peers",
    "systcpda.format": "systcpda",
    "trmdstat": "messages",
    "config.ftpdata": "config",
    "config.profile": "config",
}
KINDS = sorted(FOLDERS)


def _fixtures(kind: str) -> list[Path]:
    out = []
    for p in sorted((ROOT / "fixtures" / FOLDERS[kind]).glob("*.txt")):
        head = p.read_text(encoding="utf-8", errors="replace").split("\n")[:200]
        if registry.detect_lines(head)[0] is registry.get(kind):
            out.append(p)
    return out


def _values(s: pd.Series) -> list:
    return s.astype(object).where(s.notna(), None).tolist()


def _in_line_order(df: pd.DataFrame) -> pd.DataFrame:
    """Rows by ``line`` (stable): a multi-line message that a piece boundary splits is given
    by the piece where it ends, after rows below its first line."""
    if "line" not in df.columns:
        return df
    return df.sort_values("line", kind="stable").reset_index(drop=True)


def _same(a: pd.DataFrame, b: pd.DataFrame, name: str) -> None:
    a, b = _in_line_order(a), _in_line_order(b)
    schema = [c for c in SCHEMAS.get(name, {}) if c in a.columns]
    pd.testing.assert_frame_equal(a[schema], b[schema], obj=name)
    assert sorted(a.columns) == sorted(b.columns), name
    for c in a.columns:  # extra columns: same values (dtype may differ by piece)
        if c not in schema:
            assert _values(a[c]) == _values(b[c]), f"{name}.{c}"


def _parse_both(path: Path, kind: str, monkeypatch, chunk: int):
    whole = zdiag.parse([path], kind=kind)
    with monkeypatch.context() as mp:
        mp.setattr(stream, "MIN_BYTES", 0)
        mp.setattr(stream, "CHUNK_BYTES", chunk)
        mp.setattr(stream, "HEAD_BYTES", max(chunk, 4096))
        parts = zdiag.parse([path], kind=kind)
    return whole, parts


def _check(whole, parts, min_pieces_rows: int = 1) -> None:
    names = set(whole) | set(parts)
    assert sum(len(whole[n]) for n in names if n not in ("files", "unrecognised")) >= (
        min_pieces_rows
    )
    for name in names - {"files"}:
        _same(whole[name], parts[name], name)
    cols = ["kind", "lines", "parsed", "layout", "unrecognised", "sha256", "error", "error_line"]
    assert whole["files"][cols].equals(parts["files"][cols])


def _cuts(path: Path, kind: str, chunk: int) -> int:
    """How many pieces the stream cuts ``path`` into."""
    marker = registry.get(kind).extra["chunk_marker"]
    with open(path, "rb") as fh:
        return sum(1 for _ in stream.iter_pieces(fh.read, marker, chunk))


def _accounted(ts) -> None:
    f = ts["files"].iloc[0]
    assert f["parsed"] + f["layout"] + f["unrecognised"] == f["lines"]
    assert len(ts["unrecognised"]) == f["unrecognised"]


@pytest.mark.parametrize("kind", KINDS)
def test_kind_opts_in(kind):
    assert stream.chunkable(registry.get(kind))


@pytest.mark.parametrize("kind", KINDS)
def test_each_fixture_in_tiny_pieces_equals_whole(kind, monkeypatch):
    paths = _fixtures(kind)
    assert len(paths) >= 2
    for p in paths:
        whole, parts = _parse_both(p, kind, monkeypatch, 200)
        _check(whole, parts)
        _accounted(parts)


@pytest.mark.parametrize("kind", KINDS)
def test_real_fixtures_glued_in_pieces_equal_whole(kind, tmp_path, monkeypatch):
    text = ""
    for _ in range(3):
        for p in _fixtures(kind):
            body = p.read_text(encoding="utf-8")
            if "jobName" in body:  # an OPERLOG JSON document is one piece, never glued
                continue
            text += body if body.endswith("\n") else body + "\n"
    path = tmp_path / "glued.txt"
    path.write_text(text, encoding="utf-8")
    assert _cuts(path, kind, 700) > 5
    whole, parts = _parse_both(path, kind, monkeypatch, 700)
    _check(whole, parts, 6)
    _accounted(parts)


@pytest.mark.parametrize("kind", KINDS)
def test_generated_report_in_pieces_equals_whole(kind, tmp_path, monkeypatch):
    path = tmp_path / "gen.txt"
    all_generators()[kind].write(path, 2_000_000, seed=7)
    assert _cuts(path, kind, 150_000) > 5
    whole, parts = _parse_both(path, kind, monkeypatch, 150_000)
    _check(whole, parts, 1000)
    _accounted(parts)


def test_jes2_multiline_messages_joined_across_pieces(tmp_path, monkeypatch):
    # JES2 records in the fixture's layout: M line ending with its connect id, other
    # records interleaved, then D and E records carrying that id (joined by connect id)
    m = " M 4000000 ADCD     19286 05:25:45.07          00000090  IEE252I MEMBER X{n} FOUND {c}"
    n = " N 0000000 ADCD     19286 05:25:45.78          00000290  ISG359I GRS EXIT CACHE {n}"
    d = " D                                         {c} 00000090      PART {n} OF {c}"
    e = " E                                         {c} 00000090      DSNAME = *"
    rows = []
    for i in range(1000):
        c = 100 + i % 900
        rows += [m.format(n=i, c=c), n.format(n=i), d.format(n=i, c=c), n.format(n=i),
                 e.format(c=c)]  # fmt: skip
    path = tmp_path / "jes2.txt"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert _cuts(path, "syslog.zos", 5_000) > 20
    whole, parts = _parse_both(path, "syslog.zos", monkeypatch, 5_000)
    _check(whole, parts, 2000)
    msgs = parts["messages"]
    joined = msgs[msgs["record_type"] == "M"]["text"]
    assert len(joined) == 1000
    assert joined.str.endswith("DSNAME = *").all()


def test_peer_capture_loop_dates_carry_across_pieces(tmp_path, monkeypatch):
    # `while true; do date; ss -tan; sleep 1; done`: the fixture's ss table under a `date`
    # line each round; pieces cut at the ss heading must keep the date line above it
    body = [
        ln
        for ln in (ROOT / "fixtures/peers/ss_tan_closewait_finwait2_lazyserver.txt")
        .read_text(encoding="utf-8")
        .split("\n")
        if ln.strip() and not ln.startswith("#zdiag-sample")
    ]
    rows = []
    for i in range(400):
        rows.append(f"Mon Nov 23 17:{i // 60 % 60:02d}:{i % 60:02d} UTC 2026")
        rows += body
    path = tmp_path / "loop.txt"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert _cuts(path, "netstat.peer", 2_000) > 20
    whole, parts = _parse_both(path, "netstat.peer", monkeypatch, 2_000)
    _check(whole, parts, 400)
    ts = parts["connections"]["snapshot_ts"]
    assert ts.notna().all() and ts.nunique() == 400
