"""Text from inputs must never become an Excel formula or a DDE payload."""

from __future__ import annotations

import datetime as _dt
import math

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")
_ILLEGAL = {c: None for c in range(32) if c not in (9, 10, 13)}


def safe_cell(value):
    """A value openpyxl writes as inert data: text starting with a formula character is
    prefixed with an apostrophe-free quote mark (a leading ``'`` shown as text) and stored as
    a string; control characters Excel rejects are removed."""
    if value is None:
        return None
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, _dt.datetime | _dt.date):
        return value
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return None
        if isinstance(value, pd.Timestamp):
            return value.to_pydatetime()
    except ImportError:  # pragma: no cover
        pass
    text = str(value).translate(_ILLEGAL)
    if text.startswith(_DANGEROUS):
        text = "'" + text
    return text[:32767]
