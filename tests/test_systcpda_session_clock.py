"""systcpda.session reads the packet table's clock (``hh:mm:ss.f…``) from the column's bytes;
where a text is not in that shape the polars text path reads it: both give the same parts."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from zdiag.kinds import systcpda_session as S

CLOCK = st.from_regex(r"\d\d:\d\d:\d\d\.\d{1,9}", fullmatch=True)
ODD = st.text(alphabet="0123456789:.x é٣", max_size=16)


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.one_of(CLOCK, ODD), min_size=1, max_size=20))
def test_bytes_and_text_give_the_same_clock(values):
    t = pl.Series(values, dtype=pl.String)
    fast = S._clock(t)
    if fast is not None:
        for a, b in zip(S._clock_text(t), fast, strict=True):
            assert np.array_equal(a, b), values


def test_the_bytes_path_takes_the_printed_clocks():
    t = pl.Series(["02:41:23.818368", "23:59:61.5", "10:45:17.4099071"], dtype=pl.String)
    h, m, s, f = S._clock(t)
    assert h.tolist() == [2, 23, 10] and m.tolist() == [41, 59, 45]
    assert s.tolist() == [23, 61, 17] and f.tolist() == [818368, 500000, 409907]
    # a slice of a longer column (Arrow offset) reads its own values
    assert S._clock(pl.concat([t, t]).slice(3, 2))[0].tolist() == [2, 23]
    assert S._clock(pl.Series(["1:2:3.4"], dtype=pl.String)) is None
