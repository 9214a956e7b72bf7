"""Shared by the configuration kinds (config.ftpdata, config.profile): record clean-up
(sequence numbers in columns 73-80, `;` comments) and value typing (numbers, sizes, timers).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa

from zdiag.decode import lines_series

#: a number as a config value: digits with an optional K/M size suffix (64K, 256K)
NUMBER_RX = r"^(\d+(?:\.\d+)?)([KkMm])?$"
_SCALE = {"": 1, "K": 1024, "M": 1024 * 1024}
#: unit -> factor to the unit reported in ``unit`` (timers are reported in seconds)
_TO_SECONDS = {"s": 1.0, "min": 60.0}


def code_part(lines: list[str]) -> tuple[pl.Series, np.ndarray]:
    """Each line's statement text: sequence number (columns 73-80) and comment removed.

    Returns the code (right-stripped) and whether the line carried a ``;`` comment.
    """
    s = lines_series(lines)
    seq = s.str.len_chars().gt(72) & s.str.slice(72).str.contains(r"^\s*\d{1,8}\s*$")
    s = pl.select(pl.when(pl.lit(seq)).then(pl.lit(s.str.slice(0, 72))).otherwise(pl.lit(s)))
    s = s.to_series()
    has_comment = s.str.contains(";", literal=True).to_numpy()
    code = s.str.replace(r";.*$", "").str.strip_chars_end()
    return code, has_comment


def type_values(
    statement: pl.Series,
    value: pl.Series,
    units: dict[str, str],
    words: frozenset[str] = frozenset(),
) -> tuple[pd.Series, pd.Series, np.ndarray]:
    """``value_num``, ``unit`` and a mask of values that should be numbers and are not.

    ``units`` names the statements whose value must be a number, with their unit
    (``s``/``min`` timers are reported in seconds, ``bytes`` sizes accept K/M). Other
    statements get ``value_num`` when their first token is a plain number, without a unit;
    statements in ``words`` (octal masks and the like) are never typed. Runs in polars.
    """
    statement = statement.cast(pl.String)
    first = value.cast(pl.String).fill_null("").str.extract(r"^\s*(\S+)", 1).fill_null("")
    parts = first.str.extract_groups(NUMBER_RX).struct.unnest()
    num = parts["1"].cast(pl.Float64, strict=False)
    suffix = parts["2"].str.to_uppercase()
    scale = suffix.replace_strict(_SCALE, default=1, return_dtype=pl.Float64)
    num = num * scale
    unit = statement.replace_strict(units, default=None, return_dtype=pl.String)
    known = unit.is_not_null()
    plain = suffix.is_null() & num.is_not_null()
    keep = (known | plain) & ~statement.is_in(list(words))
    factor = unit.replace_strict(_TO_SECONDS, default=1.0, return_dtype=pl.Float64)
    frame = pl.DataFrame({"num": num * factor, "keep": keep})
    value_num = frame.select(pl.when(pl.col("keep")).then(pl.col("num"))).to_series()
    unit_out = unit.replace({"min": "s"})
    bad = (known & value_num.is_null()).to_numpy()
    mask = value_num.is_null().to_numpy()
    vals = value_num.fill_null(0.0).to_numpy()
    strs = pd.Series(pd.arrays.ArrowStringArray(unit_out.to_arrow().cast(pa.large_string())))
    return pd.Series(pd.arrays.FloatingArray(vals, mask)), strs, bad


def config_table(
    df: pl.DataFrame,
    kind: str,
    units: dict[str, str],
    acct,
    words: frozenset[str] = frozenset(),
    extra: str | None = None,
) -> pd.DataFrame:
    """The ``config`` table of statements ``df`` (line, block, statement, value and the
    ``extra`` column), values typed by :func:`type_values`; marks their lines parsed, or
    unrecognised (one message each) where a number was needed and is not there."""
    from zdiag.kinds import messages_common as mc
    from zdiag.tables import STR

    value_num, unit, bad = type_values(df["statement"], df["value"], units, words)
    cols = {
        "line": mc.to_pandas(df["line"], "int"),
        "kind": pd.array([kind] * len(df), dtype=STR),
        **{c: mc.to_pandas(df[c]) for c in ("block", "statement", "value")},
        "value_num": value_num,
        "unit": unit,
    }
    if extra is not None:
        cols[extra] = mc.to_pandas(df[extra])
    line0 = df["line"].to_numpy() - 1
    acct.parsed(line0[~bad])
    for i, st, v in df.filter(pl.Series(bad)).select("line", "statement", "value").iter_rows():
        acct.unrecognised(i - 1, f"{st} needs a number, got {v!r}; value_num left null")
    return pd.DataFrame(cols)
