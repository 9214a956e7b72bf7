"""One canonical text per address across kinds, so that tables join on addresses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

from zdiag.kinds import messages_common, netstat_common, systcpda_common, systcpda_session
from zdiag.kinds.addresses import canonical_ip, canonical_ips


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, None), (np.nan, None), (pd.NA, None), ("", None), ("  ", None),
        (" 10.1.1.1 ", "10.1.1.1"),
        ("::ffff:10.1.1.1", "::ffff:10.1.1.1"),  # RFC 5952 §5: the dotted tail stays
        ("::FFFF:0A01:0101", "::ffff:10.1.1.1"),
        ("fe80::1%eth0", "fe80::1"),  # the zone is dropped
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("x.x.x.x", "x.x.x.x"), ("*", "*"), ("10.001.1.1", "10.001.1.1"),  # as printed
    ],
)  # fmt: skip
def test_canonical_text(text, expected):
    assert canonical_ip(text) == expected


def test_every_kind_uses_the_same_function():
    """Four kinds had their own copy, and IPv4-mapped addresses came out as
    ``::ffff:a0b:201`` from messages and sessions but ``::ffff:10.11.2.1`` from netstat."""
    for mod in (messages_common, netstat_common, systcpda_common, systcpda_session):
        assert mod.canonical_ip is canonical_ip, mod.__name__


def test_column_once_per_distinct_value():
    col = pl.Series(["::FFFF:0A0B:0201", None, "10.1.1.1", "::FFFF:0A0B:0201", "x.x.x.x"])
    assert canonical_ips(col).to_list() == [
        "::ffff:10.11.2.1", None, "10.1.1.1", "::ffff:10.11.2.1", "x.x.x.x"]  # fmt: skip
