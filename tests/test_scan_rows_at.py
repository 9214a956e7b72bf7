"""``rules.scan._rows_at``: the rows a set of (source, line) references names, found per
source with sorted line numbers (a spilled table is searched part by part with one index)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from zdiag.rules.scan import _Lines, _rows_at

SOURCES = st.sampled_from(["a.txt", "b.txt", "dir/c.txt"])
REF = st.tuples(SOURCES, st.integers(0, 40))


@settings(max_examples=80, deadline=None, database=None)
@given(st.lists(REF, max_size=60), st.sets(st.tuples(st.sampled_from(["a.txt", "x"]),
                                                      st.integers(-2, 45)), max_size=30)
       | st.sets(REF, max_size=30))  # fmt: skip
def test_rows_at_is_the_pairs_membership(rows, refs):
    df = pd.DataFrame({
        "source": pd.array([s for s, _ in rows], dtype="string[pyarrow]"),
        "line": pd.array([n for _, n in rows], dtype="Int64"),
        "x": np.arange(len(rows)),
    })  # fmt: skip
    want = df.iloc[[i for i, r in enumerate(rows) if r in refs]]
    for index in (refs, _Lines(refs)):
        got = _rows_at(df, index)
        pd.testing.assert_frame_equal(got, want)
