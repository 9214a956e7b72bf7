"""The shortcuts the parsers take around row patterns: ``grammar.matches`` (the match mask
without groups), ``grammar.by_distinct`` (a per-line result worked out once per distinct
text), and the spill writing one file per bucket of a piece conformed once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zdiag import grammar as G

ROOT = Path(__file__).resolve().parents[1]


def _real_lines() -> list[str]:
    lines: list[str] = []
    for base in (ROOT / "fixtures", ROOT.parent / "shared" / "samples"):
        for path in sorted(base.rglob("*.txt")) if base.is_dir() else []:
            lines += path.read_text(encoding="utf-8", errors="replace").splitlines()
    return lines


def _rules() -> list[tuple[str, str]]:
    out = []
    for name in ("systcpda_session", "systcpda_common", "netstat_zos", "syslog_zos"):
        rules, _, _ = G._grammar_parts(name)
        for rule in rules:
            try:
                pattern = G.row_regex(name, rule)
                pl.Series([""]).str.contains(pattern)
            except (ValueError, pl.exceptions.ComputeError):
                continue  # a whole-table rule, not a row rule
            out.append((name, rule))
    return out


RULES = _rules()


@pytest.fixture(scope="module")
def lines() -> pl.Series:
    got = _real_lines()
    assert len(got) > 1000
    return pl.Series("line", got, dtype=pl.String)


@pytest.mark.parametrize(("g", "r"), RULES, ids=[f"{g}:{r}" for g, r in RULES])
def test_matches_is_the_extract_mask(g, r, lines):
    pattern = G.row_regex(g, r)
    want = G.extract(lines, pattern)[G.MATCH_GROUP].is_not_null().to_numpy()
    got = G.matches(lines, pattern)
    assert got.dtype == bool and np.array_equal(got, want)


def test_real_lines_exercise_the_rules(lines):
    hits = sum(int(G.matches(lines, G.row_regex(g, r)).sum()) for g, r in RULES)
    assert len(RULES) > 40 and hits > 1000


def test_matches_takes_a_list_and_nulls_are_no_match():
    pattern = G.row_regex("systcpda_session", "section_line")
    assert G.matches(["Connection:", "x y", ""], pattern).tolist() == [True, False, False]
    assert G.matches(pl.Series([None, "Packets:"], dtype=pl.String), pattern).tolist() == [
        False,
        True,
    ]


WORDS = st.sampled_from(["Port:", "  Port: 21,  1095", "(x) Untraced Packets: 0, 0", "", "x"])


@settings(max_examples=60, deadline=None, database=None)
@given(st.lists(st.one_of(WORDS, st.none(), st.text(max_size=12)), max_size=40),
       st.sampled_from([0.0, 0.7, 1.0]))  # fmt: skip
def test_by_distinct_gives_what_the_function_gives(values, most):
    """Whether it works per distinct value (most=1.0 always, 0.0 never) or not, the result is
    fn's over the whole column: same rows in the same order, nulls included."""
    pattern = G.row_regex("systcpda_session", "pair_line")
    s = pl.Series("line", values, dtype=pl.String)
    got = G.by_distinct(s, lambda u: G.extract(u, pattern), most=most)
    want = G.extract(s, pattern)
    assert got.columns == want.columns
    assert got.equals(want)


def test_by_distinct_calls_the_function_once_per_text():
    seen: list[int] = []

    def fn(u: pl.Series) -> pl.DataFrame:
        seen.append(len(u))
        return pl.DataFrame({"n": u.str.len_chars()})

    s = pl.Series(["aa", "b", "aa", "aa", None, "b"] * 100)
    out = G.by_distinct(s, fn)
    assert seen == [3]  # "aa", "b", null
    assert out["n"].to_list() == [2, 1, 2, 2, None, 1] * 100


def test_a_spilled_piece_is_one_file_per_bucket_and_reads_back_whole(tmp_path):
    from zdiag.spill import Spill
    from zdiag.tables import conform

    n = 5000
    rng = np.random.default_rng(3)
    conn = [f"10.0.0.{i % 37}:{1000 + i % 37}-10.1.0.1:21" for i in range(n)]
    frame = pd.DataFrame({
        "case": "c", "source": "big.txt", "line": np.arange(1, n + 1),
        "conn": pd.array(conn, dtype="string[pyarrow]"),
        "nr": rng.integers(1, 100, n), "seq": rng.integers(0, 2**32, n),
        "direction": pd.array(np.where(rng.random(n) < 0.5, "in", "out"), dtype="string"),
    })  # fmt: skip
    spill = Spill(tmp_path)
    spill.nbuckets = 8
    spill.write("packets", frame)
    spill.write("packets", frame.assign(line=frame["line"] + n))
    files = sorted((tmp_path / spill.root.name / "packets").rglob("part-*.parquet"))
    used = {p.buckets for p in spill.parts["packets"]}
    assert len(files) == sum(len(b) for p in spill.parts["packets"] for b in [p.buckets])
    assert all(len(b) > 1 for b in used)
    back = pd.concat(list(spill.buckets("packets")), ignore_index=True)
    want = conform("packets", pd.concat([frame, frame.assign(line=frame["line"] + n)]))
    back = back.sort_values("line", ignore_index=True)
    pd.testing.assert_frame_equal(back[want.columns], want.reset_index(drop=True))
    # every connection lies whole in one bucket, and a piece reads back in its own order
    per_bucket = [set(b["conn"]) for b in spill.buckets("packets")]
    assert sum(len(c) for c in per_bucket) == len(set(conn))
    first = spill.piece("packets", spill.parts["packets"][0].number)
    pd.testing.assert_frame_equal(first[want.columns], want.iloc[:n].reset_index(drop=True))
    spill.close()
