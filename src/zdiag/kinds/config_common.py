"""Shared by the configuration kinds (config.ftpdata, config.profile): record clean-up
(sequence numbers in columns 73-80, `;` comments) and value typing (numbers, sizes, timers).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl

from zdiag.tables import STR

#: a number as a config value: digits with an optional K/M size suffix (64K, 256K)
NUMBER_RX = r"^(\d+(?:\.\d+)?)([KkMm])?$"
_SCALE = {"": 1, "K": 1024, "M": 1024 * 1024}
#: unit -> factor to the unit reported in ``unit`` (timers are reported in seconds)
_TO_SECONDS = {"s": 1.0, "min": 60.0}


def code_part(lines: list[str]) -> tuple[pl.Series, np.ndarray]:
    """Each line's statement text: sequence number (columns 73-80) and comment removed.

    Returns the code (right-stripped) and whether the line carried a ``;`` comment.
    """
    s = pl.Series("line", lines, dtype=pl.String)
    seq = s.str.len_chars().gt(72) & s.str.slice(72).str.contains(r"^\s*\d{1,8}\s*$")
    s = pl.select(pl.when(pl.lit(seq)).then(pl.lit(s.str.slice(0, 72))).otherwise(pl.lit(s)))
    s = s.to_series()
    has_comment = s.str.contains(";", literal=True).to_numpy()
    code = s.str.replace(r";.*$", "").str.strip_chars_end()
    return code, has_comment


def type_values(
    statement: pd.Series,
    value: pd.Series,
    units: dict[str, str],
    words: frozenset[str] = frozenset(),
) -> tuple[pd.Series, pd.Series, np.ndarray]:
    """``value_num``, ``unit`` and a mask of values that should be numbers and are not.

    ``units`` names the statements whose value must be a number, with their unit
    (``s``/``min`` timers are reported in seconds, ``bytes`` sizes accept K/M). Other
    statements get ``value_num`` when their first token is a plain number, without a unit;
    statements in ``words`` (octal masks and the like) are never typed.
    """
    statement = statement.astype(object).reset_index(drop=True)
    value = pd.Series(value.astype(object).where(value.notna(), ""), dtype=object)
    first = value.reset_index(drop=True).astype(str).str.split(n=1).str[0].fillna("")
    m = first.str.extract(NUMBER_RX)
    num = pd.to_numeric(m[0], errors="coerce")
    suffix = m[1].fillna("").str.upper()
    num = num * suffix.map(_SCALE).fillna(1)
    unit = statement.map(units)
    known = unit.notna().to_numpy()
    plain = m[1].isna() & num.notna()
    keep = known | plain.to_numpy()
    keep &= ~statement.isin(words).to_numpy()
    factor = unit.map(_TO_SECONDS).fillna(1.0)
    value_num = (num * factor).where(keep)
    unit_out = unit.replace({"min": "s"})
    bad = known & value_num.isna().to_numpy()
    return (
        pd.array(value_num.to_numpy(dtype=float, na_value=np.nan), dtype="Float64"),
        pd.array(unit_out.to_numpy(dtype=object), dtype=STR),
        bad,
    )
