"""Property tests of the engine against slow oracles written here: group aggregates
(count … last, with nulls, through message placeholders) and sequence matching
(leftmost, greedy, non-overlapping; a row may match several steps)."""

from __future__ import annotations

import hypothesis.strategies as st
import pandas as pd
from hypothesis import HealthCheck, given, settings

from zdiag.rules.engine import run_rule
from zdiag.rules.model import Rule
from zdiag.tables import TableSet

T0 = pd.Timestamp("2024-01-01 00:00:00")
AGGS = ["count", "sum(v)", "min(v)", "max(v)", "mean(v)", "nunique(v)", "span(v)",
        "first(v)", "last(v)"]  # fmt: skip


@st.composite
def tables(draw):
    n = draw(st.integers(1, 25))
    k = draw(st.lists(st.one_of(st.none(), st.sampled_from(["x", "y", "z"])), min_size=n,
                      max_size=n))  # fmt: skip
    v = draw(st.lists(st.one_of(st.none(), st.integers(-5, 5)), min_size=n, max_size=n))
    secs = draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
    return pd.DataFrame(
        {
            "case": pd.array([""] * n, dtype="string"),
            "source": pd.array(["s.txt"] * n, dtype="string"),
            "line": pd.array(range(1, n + 1), dtype="Int64"),
            "ts": [T0 + pd.Timedelta(seconds=s) for s in secs],
            "k": pd.array(k, dtype="string"),
            "v": pd.array(v, dtype="Int64"),
        }
    )


def fmt(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:g}"
    return str(x)


def oracle_groups(df: pd.DataFrame) -> list[str]:
    rows = sorted(
        zip(df["ts"], df["line"], df["k"].tolist(), df["v"].tolist(), strict=True),
        key=lambda r: (r[0], r[1]),
    )
    groups: dict = {}
    for _ts, _line, k, v in rows:
        key = None if k is pd.NA else k
        groups.setdefault(key, []).append(None if v is pd.NA else v)
    out = []
    for key, vals in groups.items():
        nn = [x for x in vals if x is not None]
        parts = [
            fmt(key), str(len(vals)), str(sum(nn)),
            fmt(min(nn) if nn else None), fmt(max(nn) if nn else None),
            fmt(sum(nn) / len(nn) if nn else None), str(len(set(nn))),
            fmt(max(nn) - min(nn) if nn else None),
            fmt(nn[0] if nn else None), fmt(nn[-1] if nn else None),
        ]  # fmt: skip
        out.append("|".join(parts))
    return sorted(out)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=tables())
def test_group_aggregates_equal_oracle(df):
    rule = Rule.from_dict(
        {"id": "agg", "title": "t", "level": "low", "source": "packets", "condition": "true",
         "group_by": ["k"], "message": "|".join("{" + a + "}" for a in ["k"] + AGGS)}
    )  # fmt: skip
    got = run_rule(rule, TableSet({"packets": df}))
    assert sorted(got["message"]) == oracle_groups(df)


# --------------------------------------------------------------------------- sequences

STEPS = st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.booleans()), min_size=1, max_size=3)


def oracle_sequences(marks: list[set], steps: list[tuple[str, bool]]) -> list[list[int]]:
    """Leftmost, greedy-with-backtracking, non-overlapping matches over candidate rows
    (rows in ``marks`` that belong to at least one step)."""
    names = {s for s, _ in steps}
    cand = [i for i, m in enumerate(marks) if m & names]

    def match(pos: int, k: int) -> int | None:  # end position, or None
        if k == len(steps):
            return pos
        name, plus = steps[k]
        if pos >= len(cand) or name not in marks[cand[pos]]:
            return None
        if not plus:
            return match(pos + 1, k + 1)
        end = pos + 1
        while end < len(cand) and name in marks[cand[end]]:
            end += 1
        for stop in range(end, pos, -1):  # greedy, then give back
            r = match(stop, k + 1)
            if r is not None:
                return r
        return None

    out, pos = [], 0
    while pos < len(cand):
        end = match(pos, 0)
        if end is None:
            pos += 1
        else:
            out.append([cand[i] + 1 for i in range(pos, end)])
            pos = end
    return out


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    marks=st.lists(st.sets(st.sampled_from(["a", "b", "c", "d"]), max_size=2), min_size=1,
                   max_size=20),
    steps=STEPS,
)  # fmt: skip
def test_sequences_equal_oracle(marks, steps):
    n = len(marks)
    df = pd.DataFrame(
        {
            "case": pd.array([""] * n, dtype="string"),
            "source": pd.array(["s.txt"] * n, dtype="string"),
            "line": pd.array(range(1, n + 1), dtype="Int64"),
            "ts": [T0 + pd.Timedelta(seconds=i) for i in range(n)],
            **{name: [name in m for m in marks] for name in "abcd"},
        }
    )
    rule = Rule.from_dict(
        {"id": "seq", "title": "t", "level": "low", "source": "packets", "message": "m",
         "where": {f"s_{x}": x for x in "abc"},
         "sequence": [f"s_{name}" + ("+" if plus else "") for name, plus in steps]}
    )  # fmt: skip
    got = run_rule(rule, TableSet({"packets": df}))
    assert got["lines"].tolist() == oracle_sequences(marks, steps)
