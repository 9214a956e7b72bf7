"""Message text of a few findings is made value by value (``engine._fmt_values``); it must
be the text the vectorised steps give (``engine._fmt_vectorised``) for every dtype a
table column has."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from zdiag.rules import engine

_TEXT = st.one_of(st.none(), st.text(max_size=10), st.sampled_from(["=1+1", "-", "ESTABLISHED"]))
_FLOAT = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True))
_INT = st.one_of(st.none(), st.integers(-(2**62), 2**62))
_STAMP = st.one_of(
    st.none(),
    st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1)),
    st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(1900, 1, 1, 23, 59)),
)
_OBJECT = st.one_of(st.none(), st.just(float("nan")), st.text(max_size=6), st.integers(), st.floats(),
                    st.booleans(), st.lists(st.integers(), max_size=2))  # fmt: skip

_SERIES = st.one_of(
    st.lists(_TEXT, max_size=32).map(lambda v: pd.Series(v, dtype=pd.StringDtype("pyarrow"))),
    st.lists(_TEXT, max_size=32).map(lambda v: pd.Series(v, dtype=object)),
    st.lists(_INT, max_size=32).map(lambda v: pd.Series(v, dtype="Int64")),
    st.lists(st.integers(-(2**62), 2**62), max_size=32).map(lambda v: pd.Series(v, dtype="int64")),
    st.lists(_FLOAT, max_size=32).map(lambda v: pd.Series(v, dtype="Float64")),
    st.lists(st.floats(), max_size=32).map(lambda v: pd.Series(v, dtype="float64")),
    st.lists(st.floats(width=32), max_size=32).map(lambda v: pd.Series(v, dtype="float32")),
    st.lists(st.one_of(st.none(), st.booleans()), max_size=32).map(
        lambda v: pd.Series(v, dtype="boolean")
    ),
    st.lists(st.booleans(), max_size=32).map(lambda v: pd.Series(v, dtype=bool)),
    st.lists(_STAMP, max_size=32).map(lambda v: pd.Series(v, dtype="datetime64[us]")),
    st.lists(_OBJECT, max_size=32).map(lambda v: pd.Series(v, dtype=object)),
    st.lists(st.sampled_from(["a", "b", None]), max_size=32).map(
        lambda v: pd.Series(v, dtype="category")
    ),
)


@settings(max_examples=400, deadline=None)
@given(_SERIES)
def test_value_by_value_text_is_the_vectorised_text(s):
    assert engine._fmt_values(s) == engine._fmt_vectorised(s).tolist()


def test_long_columns_and_durations_take_the_vectorised_way():
    s = pd.Series(np.arange(100, dtype=float))
    assert engine._fmt(s).tolist() == engine._fmt_vectorised(s).tolist()
    d = pd.Series(pd.to_timedelta([1.5, None], unit="s"))
    assert engine._fmt(d).tolist() == ["1.5s", "-"]
