"""Shared by the systcpda.* kinds: the IPCS header lines, the formatter's option echo,
date separators and rulers (grammars/systcpda_common.lark), all accounted as layout."""

from __future__ import annotations

import re

import numpy as np
import polars as pl

from zdiag.grammar import MATCH_GROUP, extract, row_regex
from zdiag.kinds.base import UNMARKED, Accounting

GRAMMAR = "systcpda_common"


def series(lines: list[str]) -> pl.Series:
    return pl.Series("line", lines, dtype=pl.String)


def mark_layout(lines: list[str], s: pl.Series, acct: Accounting) -> dict[int, str]:
    """Mark the shared layout lines; returns {line index: date} for `**** yyyy/mm/dd` lines.

    Only lines not yet marked are examined, so callers run their own row patterns first.
    """
    todo = np.flatnonzero(acct.status == UNMARKED)
    if not len(todo):
        return {}
    sub = s.gather(todo)
    lay = extract(sub, row_regex(GRAMMAR, "layout_line"))[MATCH_GROUP].is_not_null().to_numpy()
    acct.layout(todo[lay])
    dates = extract(sub, row_regex(GRAMMAR, "date_line"))
    dmask = dates[MATCH_GROUP].is_not_null().to_numpy()
    acct.layout(todo[dmask])
    out = {int(i): d for i, d in zip(todo[dmask], dates["date"].to_numpy()[dmask], strict=True)}
    opts = extract(sub, row_regex(GRAMMAR, "options_start"))[MATCH_GROUP].is_not_null().to_numpy()
    for i in todo[opts]:
        _mark_option_echo(lines, int(i), acct)
    return out


def _mark_option_echo(lines: list[str], start: int, acct: Accounting) -> None:
    """OPTIONS((...)) may wrap over many lines; it ends when its parentheses balance."""
    depth = 0
    for i in range(start, min(len(lines), start + 200)):
        text = re.sub(r"/\*.*?\*/", "", lines[i])
        depth += text.count("(") - text.count(")")
        acct.layout(i)
        if depth <= 0:
            return
