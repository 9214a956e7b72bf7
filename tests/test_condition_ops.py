"""Every operator, literal and function of the condition language, with nulls."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from zdiag.rules.condition import (
    MAX_REGEX_LENGTH,
    ConditionError,
    Frame,
    compile_condition,
)


@pytest.fixture
def frame() -> Frame:
    df = pd.DataFrame(
        {
            "n": pd.array([1, 5, None, -3], dtype="Int64"),
            "m": pd.array([1, 2, 3, None], dtype="Int64"),
            "x": pd.array([0.5, None, 2.5, 120.0], dtype="Float64"),
            "s": pd.array(["FIN_WAIT_1", "Establsh", None, ""], dtype="string[pyarrow]"),
            "f": pd.array([True, False, None, True], dtype="boolean"),
            "ts": pd.to_datetime(
                ["2024-01-01 10:00:00", "2024-01-01 10:00:30", None, "2024-01-01 10:05:00"]
            ).astype("datetime64[us]"),
            "t0": pd.to_datetime(["2024-01-01 10:00:00"] * 4).astype("datetime64[us]"),
        }
    )
    return Frame(df)


def m(frame: Frame, text: str) -> list[bool]:
    out = compile_condition(text, set(frame.df.columns)).mask(frame)
    assert out.dtype == np.bool_
    return out.tolist()


@pytest.mark.parametrize(
    "text, want",
    [
        ("n == 1", [True, False, False, False]),
        ("n != 1", [False, True, False, True]),  # null compared: false
        ("n < 2", [True, False, False, True]),
        ("n <= 1", [True, False, False, True]),
        ("n > 1", [False, True, False, False]),
        ("n >= 5", [False, True, False, False]),
        ("n == m", [True, False, False, False]),
        ("n != m", [False, True, False, False]),  # rows with a null on either side: false
        ('s == "Establsh"', [False, True, False, False]),
        ('s != "Establsh"', [True, False, False, True]),
        ('s < "G"', [True, True, False, True]),
        ("f == true", [True, False, False, True]),
        ("f == false", [False, True, False, False]),
        ("x > 1.5", [False, False, True, True]),
        ("x >= 1e2", [False, False, False, True]),
    ],
)
def test_comparisons(frame, text, want):
    assert m(frame, text) == want


@pytest.mark.parametrize(
    "text, want",
    [
        ("n in [1, -3]", [True, False, False, True]),
        ("n not in [1, -3]", [False, True, False, False]),  # null: false for `not in` too
        ('s in ["FIN_WAIT_1", ""]', [True, False, False, True]),
        ('s not in ["FIN_WAIT_1"]', [False, True, False, True]),
        ("f in [true]", [True, False, False, True]),
        ("x in [0.5, 120]", [True, False, False, True]),
        ("n in []", [False, False, False, False]),
        ('n in ["1"]', [False, False, False, False]),  # untyped: text never equals a number
    ],
)
def test_membership(frame, text, want):
    assert m(frame, text) == want


@pytest.mark.parametrize(
    "text, want",
    [
        ('s contains "WAIT"', [True, False, False, False]),
        ('s contains "."', [False, False, False, False]),  # literal, not a regex
        ('s startswith "Est"', [False, True, False, False]),
        ('s endswith "_1"', [True, False, False, False]),
        ('s matches "^FIN_WAIT_[12]$"', [True, False, False, False]),
        ('s matches "(?i)establsh"', [False, True, False, False]),
        ('s matches ""', [True, True, False, True]),
        ('lower(s) == "establsh"', [False, True, False, False]),
        ("len(s) == 0", [False, False, False, True]),
        ("len(s) > 3", [True, True, False, False]),
        ("s contains 'WAIT'", [True, False, False, False]),  # single quotes
        ('"a\\"b" contains "\\""', [True, True, True, True]),  # escapes
    ],
)
def test_text_operators(frame, text, want):
    assert m(frame, text) == want


@pytest.mark.parametrize(
    "text, want",
    [
        ("n is null", [False, False, True, False]),
        ("n is not null", [True, True, False, True]),
        ("s is null", [False, False, True, False]),
        ("ts is null", [False, False, True, False]),
        ("f is null", [False, False, True, False]),
        ("(n + m) is null", [False, False, True, True]),
        ("not n == 1", [False, True, True, True]),  # not of a false comparison
        ("not (n is null)", [True, True, False, True]),
    ],
)
def test_nulls(frame, text, want):
    assert m(frame, text) == want


@pytest.mark.parametrize(
    "text, want",
    [
        ("n + m == 7", [False, True, False, False]),
        ("n - m == 3", [False, True, False, False]),
        ("n * 2 == 10", [False, True, False, False]),
        ("n / 2 == 2.5", [False, True, False, False]),
        ("(n / 0) is null", [True, True, True, True]),  # division by zero is null
        ("(1 / 0) is null", [True, True, True, True]),
        ("-n == 3", [False, False, False, True]),
        ("2 + 3 * 2 == 8", [True] * 4),  # precedence
        ("(2 + 3) * 2 == 10", [True] * 4),
        ("abs(n) == 3", [False, False, False, True]),
        ("min(n, m) == 1", [True, False, False, False]),  # null argument: null
        ("max(n, m, 4) == 5", [False, True, False, False]),
        ("min(x, 1) == 0.5", [True, False, False, False]),
    ],
)
def test_arithmetic_and_functions(frame, text, want):
    assert m(frame, text) == want


@pytest.mark.parametrize(
    "text, want",
    [
        ("x > 1s", [False, False, True, True]),  # durations are seconds
        ("x >= 2m", [False, False, False, True]),
        ("x < 750ms", [True, False, False, False]),
        ("2h == 7200", [True] * 4),
        ("1d == 86400", [True] * 4),
        ("1.5s == 1.5", [True] * 4),
        ("ts - t0 >= 30s", [False, True, False, True]),  # timestamp differences: seconds
        ("ts - t0 > 4m", [False, False, False, True]),
    ],
)
def test_durations(frame, text, want):
    assert m(frame, text) == want


@pytest.mark.parametrize(
    "text, want",
    [
        ("f", [True, False, False, True]),
        ("s", [True, True, False, False]),  # empty text is false
        ("n", [True, True, False, True]),
        ("f and n > 0", [True, False, False, False]),
        ("f or n > 0", [True, True, False, True]),
        ("not f", [False, True, True, False]),
        ("true", [True] * 4),
        ("false or null", [False] * 4),
        ('n > 0 and (f or s == "Establsh")', [True, True, False, False]),
        ("not not f", [True, False, False, True]),
    ],
)
def test_logic_and_truthiness(frame, text, want):
    assert m(frame, text) == want


def test_selections_shadow_columns(frame):
    frame.selections["stuck"] = np.array([True, False, True, False])
    got = compile_condition("stuck and not f", set(frame.df.columns), {"stuck"}).mask(frame)
    assert got.tolist() == [False, False, True, False]


@pytest.mark.parametrize(
    "text, offset, fragment",
    [
        ("n ==", 4, "ends too early"),
        ("n === 1", 4, "unexpected"),
        ("n == 1 and", 10, "ends too early"),
        ("n == $", 5, "unexpected character '$'"),
        ("nope == 1", 0, "unknown column or selection 'nope'"),
        ("n == null", 5, "use `is null`"),
        ("n in [1, null]", 9, "null in a list"),
        ('s matches "(a"', 10, "invalid regex"),
        ('s matches "(a)\\\\1"', 10, "invalid regex"),  # back-references: not RE2
        ("foo(n) > 1", 0, "unknown function foo()"),
        ("count > 1", 0, "unknown column"),
        ("sum(n) > 1", 0, "aggregate sum() outside `having`"),
        ("lower(s, s) == 1", 0, "takes one argument"),
        ("min(n) == 1", 0, "two or more arguments"),
        ("", 0, "empty condition"),
    ],
)
def test_compile_errors_have_offsets(frame, text, offset, fragment):
    with pytest.raises(ConditionError) as info:
        compile_condition(text, set(frame.df.columns))
    assert fragment in info.value.message
    assert info.value.offset == offset


def test_regex_is_linear_time_re2(frame):
    # a pattern that backtracks catastrophically in Python's re runs instantly under RE2
    df = pd.DataFrame({"s": pd.array(["a" * 5000 + "!"] * 200, dtype="string[pyarrow]")})
    got = compile_condition('s matches "^(a+)+$"', {"s"}).mask(Frame(df))
    assert not got.any()
    with pytest.raises(ConditionError, match="longer than"):
        compile_condition('s matches "' + "a" * (MAX_REGEX_LENGTH + 1) + '"', {"s"})


def test_having_aggregates_compile_to_group_columns():
    g = pd.DataFrame(
        {"count": pd.array([1, 3], dtype="Int64"), "span(ts)": pd.array([10.0, 200.0], "Float64")}
    )
    comp = compile_condition(
        "count >= 2 and span(ts) >= 2m", set(), having=True, agg_columns={"ts"}
    )
    assert comp.mask(Frame(g)).tolist() == [False, True]
    assert comp.aggregates == [("count", None), ("span", "ts")]


@pytest.mark.parametrize(
    "text, offset, message",
    [
        ("s > 5", 0, "cannot compare text with number"),
        ("f == 1", 0, "cannot compare bool with number"),
        ("ts > 5", 0, "cannot compare time with number"),
        ('n contains "x"', 0, "`contains` needs text, not number"),
        ('x matches "x"', 0, "`matches` needs text, not number"),
        ('lower(n) == "a"', 6, "lower() needs text, not number"),
        ("len(f) > 1", 4, "len() needs text, not bool"),
        ("abs(s) > 1", 4, "abs() needs number, not text"),
        ("s + 1 > 2", 0, "'+' needs number, not text"),
        ("ts + 1s > t0", 0, "'+' needs number, not time"),
        ("-s == 1", 1, "'-' needs number, not text"),
        ('n in [1, "2"]', 9, "list item is text but the value is number"),
    ],
)
def test_type_errors_when_dtypes_are_known(frame, text, offset, message):
    with pytest.raises(ConditionError) as info:
        compile_condition(text, set(frame.df.columns), dtypes=dict(frame.df.dtypes))
    assert (info.value.message, info.value.offset) == (message, offset)


def test_well_typed_conditions_pass_the_type_check(frame):
    dtypes = dict(frame.df.dtypes)
    for text in ["ts - t0 > 30s", 'lower(s) == "x" and len(s) > 1', "f and n > 1", "s", "x > n"]:
        compile_condition(text, set(frame.df.columns), dtypes=dtypes)
