"""Text from inputs must never become an Excel formula or a DDE payload.

openpyxl decides a cell's type from its value: a string starting with ``=`` becomes a
formula (``<f>`` in the sheet XML). Prefixing an apostrophe would change the data, so
instead a risky string is written in a cell whose type is forced to text (an inline string
in the XML) and whose style carries ``quotePrefix`` — the flag Excel and LibreOffice set
when a user types a leading apostrophe — so the text stays text even after someone edits
the cell. The text itself is kept as read, so Evidence matches the input line for line.

Risky means: starting with ``= + - @``, tab, CR, LF (formula and DDE triggers), or ``|``
and ``%`` (DDE and legacy Lotus forms). Control characters that XML cannot carry are
removed; text is cut to Excel's 32,767 characters per cell.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re

import numpy as np
import pandas as pd
from openpyxl.cell import Cell, WriteOnlyCell

RISKY_FIRST = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")
RISKY_RE = r"^[=+\-@\t\r\n|%]"
ILLEGAL_RE = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"
_ILLEGAL = re.compile(ILLEGAL_RE)
MAX_TEXT = 32767
TS_FORMAT = "yyyy-mm-dd hh:mm:ss.000"


def clean_text(text: str) -> str:
    """``text`` without the control characters XML 1.0 cannot hold, cut to one cell's size."""
    return _ILLEGAL.sub("", text)[:MAX_TEXT]


def is_risky(text: str) -> bool:
    """True when Excel could read ``text`` as a formula or DDE call."""
    return text.startswith(RISKY_FIRST)


def as_text(cell: Cell, text: str) -> Cell:
    """Put ``text`` in ``cell`` as a string, never a formula: type forced to ``s`` (an
    inline string in the saved XML) and ``quotePrefix`` set so an edit keeps it text."""
    text = clean_text(text)
    cell.value = text
    cell.data_type = "s"
    if is_risky(text):
        cell.quotePrefix = True
    return cell


def text_cell(ws, text: str) -> WriteOnlyCell:
    """A write-only cell holding ``text`` as inert text."""
    return as_text(WriteOnlyCell(ws), text)


def plain(value):
    """A Python value openpyxl can store: None for missing, datetimes naive, other objects
    as text (lists joined with ``, ``, dicts as JSON)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        value = float(value)
        if math.isnan(value):
            return None
        return value if math.isfinite(value) else str(value)
    if isinstance(value, pd.Timestamp):
        if value.tzinfo is not None:
            value = value.tz_convert("UTC").tz_localize(None)
        return value.to_pydatetime()
    if isinstance(value, _dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_dt.UTC).replace(tzinfo=None)
        return value
    if isinstance(value, _dt.date | _dt.time):
        return value
    if isinstance(value, list | tuple | np.ndarray):
        return ", ".join(str(plain(v)) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, default=str, ensure_ascii=False)
    return clean_text(str(value))


def safe_cell(value, ws=None):
    """``value`` ready for ``ws.append``: a plain value, or — for text that could be read as
    a formula — a cell forced to text. Without ``ws`` the cell is a detached ``Cell``
    (for tests and callers that copy ``.value``/``.data_type`` themselves)."""
    if isinstance(value, Cell):
        return value
    value = plain(value)
    if isinstance(value, str):
        value = clean_text(value)
        if is_risky(value):
            return text_cell(ws, value) if ws is not None else as_text(Cell(None), value)
    return value


#: up to this many values a column is rendered value by value (:func:`safe_cell`, the same
#: result): each vectorised step has a fixed cost of its own, and the Evidence sheet renders
#: a few rows of every column of each cited table (~0.5 ms a column saved)
SMALL = 32


def column_values(series: pd.Series, ws) -> list:
    """One column as values for ``ws.append``, vectorised: only the risky strings and the
    timestamps become cell objects, everything else stays a plain value."""
    n = len(series)
    if n == 0:
        return []
    dtype = series.dtype
    if n <= SMALL and not pd.api.types.is_datetime64_any_dtype(dtype):
        return [safe_cell(v, ws) for v in series.tolist()]
    return _vectorised(series, ws)


def _vectorised(series: pd.Series, ws) -> list:
    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        s = series
        if getattr(dtype, "tz", None) is not None:
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        out = s.astype(object).where(s.notna(), None).tolist()
        for i, v in enumerate(out):
            if v is not None:
                c = WriteOnlyCell(ws, v.to_pydatetime())
                c.number_format = TS_FORMAT
                out[i] = c
        return out
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_integer_dtype(dtype):
        return series.astype(object).where(series.notna(), None).tolist()
    if pd.api.types.is_float_dtype(dtype):
        arr = series.to_numpy(dtype=float, na_value=np.nan)
        obj = arr.astype(object)
        obj[np.isnan(arr)] = None
        inf = np.isinf(arr)
        if inf.any():
            obj[inf] = [text_cell(ws, str(v)) if v < 0 else str(v) for v in arr[inf]]
        return obj.tolist()
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        s = series.astype(STR_DTYPE)
    else:  # object (lists, dicts, mixed), categorical, anything else: as text
        s = pd.Series([plain(v) for v in series.tolist()], dtype=object)
        if not all(v is None or isinstance(v, str) for v in s.tolist()):
            return [safe_cell(v, ws) for v in s.tolist()]
        s = s.astype(STR_DTYPE)
    if s.str.contains(ILLEGAL_RE, regex=True).any():
        s = s.str.replace(ILLEGAL_RE, "", regex=True)
    lengths = s.str.len()
    if (lengths > MAX_TEXT).any():
        s = s.str.slice(0, MAX_TEXT)
    risky = s.str.contains(RISKY_RE, regex=True).fillna(False).to_numpy(dtype=bool)
    out = s.astype(object).where(s.notna(), None).tolist()
    for i in np.flatnonzero(risky):
        out[i] = text_cell(ws, out[i])
    return out


STR_DTYPE = pd.StringDtype("pyarrow")
