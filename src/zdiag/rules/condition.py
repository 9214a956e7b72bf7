"""The condition language (``grammars/condition.lark``) compiled to vectorised operations.

A condition text is parsed once with Lark (LALR) and its tree is compiled into a closure
over a :class:`Frame` (a DataFrame plus the named selections already computed). The
closure works on whole columns with pandas/numpy; nothing is evaluated row by row, and
no rule text ever reaches Python's or pandas' own expression evaluators.

Semantics (SPEC §5):
- a comparison (``== != < <= > >=``, ``in``, ``not in``, ``contains``, ``startswith``,
  ``endswith``, ``matches``) involving a null is **false**; ``is null`` / ``is not null``
  test for null explicitly; ``not``, ``and``, ``or`` are plain two-valued logic on top;
- a bare value in a boolean place is true when it is not null and not false/0/"";
- arithmetic propagates null; division by zero gives null;
- durations (``250ms 120s 5m 2h 1d``) are numbers of seconds, and so is every difference
  of timestamps (``ts - first_ts``, ``span(ts)``, ``gap``): ``delta_s > 2s``,
  ``span(snapshot_ts) >= 2m``;
- ``matches "re"`` is compiled once and run by RE2 (pyarrow.compute), whose matching time
  is linear in the input: no catastrophic backtracking is possible. Patterns RE2 cannot
  run (back-references, look-around) and patterns longer than MAX_REGEX_LENGTH are
  compile errors.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from zdiag.resources import grammar_text

#: Longest ``matches`` pattern accepted (RE2 also bounds its own program size).
MAX_REGEX_LENGTH = 1000

AGGREGATES = ("count", "sum", "min", "max", "mean", "nunique", "span", "first", "last")
FUNCTIONS = ("lower", "len", "abs", "min", "max")
DURATION_UNITS = {"ms": "ms", "s": "s", "m": "min", "h": "h", "d": "D"}


class ConditionError(ValueError):
    """A condition that does not parse or compile; ``offset`` is 0-based in the text."""

    def __init__(self, message: str, offset: int = 0):
        super().__init__(message)
        self.message = message
        self.offset = offset


@cache
def parser() -> Lark:
    return Lark(
        grammar_text("condition"),
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=False,
    )


_FRIENDLY = {"NAME": "a name", "NUMBER": "a number", "STRING": "a string",
             "DURATION": "a duration", "COMPARE": "a comparison", "ADD_OP": "'+' or '-'",
             "MUL_OP": "'*' or '/'"}  # fmt: skip


def _expected(exc: UnexpectedInput) -> str:
    """``; expected …`` listing what the parser would have accepted, in plain words."""
    names = set(getattr(exc, "expected", None) or getattr(exc, "allowed", None) or ())
    literal, friendly = [], []
    for name in names - {"$END"}:
        if name in _FRIENDLY:
            friendly.append(_FRIENDLY[name])
            continue
        try:
            pattern = parser().get_terminal(name).pattern
        except KeyError:
            friendly.append(name.lower())
            continue
        literal.append(f"'{pattern.value}'" if pattern.type == "str" else name.lower())
    shown = sorted(literal) + sorted(friendly)
    return f"; expected {', '.join(shown)}" if shown else ""


def parse(text: str) -> Tree:
    """Parse a condition; raise ConditionError with the 0-based offset of the problem."""
    if not isinstance(text, str) or not text.strip():
        raise ConditionError("empty condition", 0)
    return _parse(text)


@lru_cache(maxsize=4096)
def _parse(text: str) -> Tree:
    """Trees are only read, never changed, so the same text shares one tree."""
    try:
        return parser().parse(text)
    except UnexpectedCharacters as exc:
        raise ConditionError(
            f"unexpected character {text[exc.pos_in_stream]!r}", exc.pos_in_stream
        ) from None
    except UnexpectedEOF as exc:
        raise ConditionError("condition ends too early" + _expected(exc), len(text)) from None
    except UnexpectedToken as exc:
        tok = exc.token
        if tok.type == "$END":
            raise ConditionError(
                "condition ends too early" + _expected(exc), len(text.rstrip())
            ) from None
        pos = tok.start_pos if tok.start_pos is not None else 0
        raise ConditionError(f"unexpected {str(tok)!r}" + _expected(exc), pos) from None


# --------------------------------------------------------------------------- values


@dataclass
class Frame:
    """What a compiled condition runs over: the table and the selections named so far."""

    df: pd.DataFrame
    selections: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.df)


def _is_scalar(v) -> bool:
    return not isinstance(v, pd.Series | np.ndarray)


def _isnull_scalar(v) -> bool:
    return v is None or v is pd.NA or v is pd.NaT


def to_mask(v, n: int) -> np.ndarray:
    """Truthiness of a value as a plain numpy bool array (null is false)."""
    if isinstance(v, np.ndarray) and v.dtype == bool:
        return v
    if _is_scalar(v):
        return np.full(n, bool(not _isnull_scalar(v) and v), dtype=bool)
    s = v
    kind = s.dtype.kind if hasattr(s.dtype, "kind") else "O"
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.to_numpy(dtype=bool, na_value=False)
    if pd.api.types.is_string_dtype(s.dtype) or kind == "O":
        return (s.notna() & (s.astype("string") != "")).to_numpy(dtype=bool, na_value=False)
    if pd.api.types.is_numeric_dtype(s.dtype):
        return (s != 0).to_numpy(dtype=bool, na_value=False) & s.notna().to_numpy()
    return s.notna().to_numpy()


def _bool_result(r, n: int) -> np.ndarray:
    """A comparison result (nullable boolean Series, numpy array or scalar) → mask."""
    if isinstance(r, pd.Series):
        return r.to_numpy(dtype=bool, na_value=False)
    if isinstance(r, np.ndarray):
        return r.astype(bool)
    return np.full(n, bool(r) if not _isnull_scalar(r) else False, dtype=bool)


def _null_mask(v, n: int) -> np.ndarray:
    if _is_scalar(v):
        return np.full(n, _isnull_scalar(v), dtype=bool)
    if isinstance(v, np.ndarray):
        return np.zeros(n, dtype=bool)
    return v.isna().to_numpy()


def _seconds(td: pd.Timedelta) -> float:
    return td / pd.Timedelta(seconds=1)


def _is_numeric_value(v) -> bool:
    if _is_scalar(v):
        return isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
    return pd.api.types.is_numeric_dtype(v.dtype) and not pd.api.types.is_bool_dtype(v.dtype)


_CMP = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _as_series(v, n: int, index) -> pd.Series:
    if isinstance(v, pd.Series):
        return v
    if isinstance(v, np.ndarray):
        return pd.Series(v, index=index, dtype="boolean")
    if isinstance(v, str):
        return pd.Series(pd.array([v] * n, dtype="string[pyarrow]"), index=index)
    if _isnull_scalar(v):
        return pd.Series([pd.NA] * n, index=index, dtype="Float64")
    if isinstance(v, bool):
        return pd.Series([v] * n, index=index, dtype="boolean")
    if isinstance(v, int):
        return pd.Series([v] * n, index=index, dtype="Int64")
    return pd.Series([v] * n, index=index, dtype="Float64")


def _compare(op: str, a, b, n: int) -> np.ndarray:
    if isinstance(a, np.ndarray):
        a = pd.Series(a, dtype="boolean")
    if isinstance(b, np.ndarray):
        b = pd.Series(b, dtype="boolean")
    if _is_scalar(a) and _is_scalar(b):
        if _isnull_scalar(a) or _isnull_scalar(b):
            return np.zeros(n, dtype=bool)
        return np.full(n, bool(_CMP[op](a, b)), dtype=bool)
    nulls = _null_mask(a, n) | _null_mask(b, n)
    res = _bool_result(_CMP[op](a, b), n)
    return res & ~nulls


def _arith(op: str, a, b, n: int, index):
    if _is_scalar(a) and _is_scalar(b):
        if _isnull_scalar(a) or _isnull_scalar(b):
            return pd.NA
        if op == "/" and b == 0:
            return pd.NA
        return {"+": a + b, "-": a - b, "*": a * b, "/": (a / b) if op == "/" else None}[op]
    if isinstance(a, np.ndarray):
        a = pd.Series(a, index=index, dtype="boolean")
    if isinstance(b, np.ndarray):
        b = pd.Series(b, index=index, dtype="boolean")
    if op in ("+", "-", "*"):
        out = a + b if op == "+" else (a - b if op == "-" else a * b)
        return _td_seconds(out)
    zero = _compare("==", b, 0, n) if _is_numeric_value(b) else np.zeros(n, dtype=bool)
    out = a / b
    if not isinstance(out, pd.Series):
        out = _as_series(out, n, index)
    if zero.any():
        out = out.mask(pd.Series(zero, index=out.index))
    return out


def _td_seconds(v):
    """Differences of timestamps become seconds (the language has no timedelta type)."""
    if isinstance(v, pd.Timedelta):
        return _seconds(v)
    if isinstance(v, pd.Series) and pd.api.types.is_timedelta64_dtype(v.dtype):
        return v.dt.total_seconds().astype("Float64")
    return v


def _strings(v, what: str) -> pd.Series:
    if _is_scalar(v) or not (
        pd.api.types.is_string_dtype(v.dtype) or pd.api.types.is_object_dtype(v.dtype)
    ):
        raise TypeError(f"{what} needs a text column")
    if not isinstance(v.dtype, pd.StringDtype):
        v = v.astype("string[pyarrow]")
    return v


def _arrow_strings(s: pd.Series) -> pa.Array:
    arr = pa.array(s.astype("string[pyarrow]").array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr


def _unquote(tok: str) -> str:
    """A STRING token's value (Python-style escapes, either quote)."""
    return ast.literal_eval(tok)


def check_regex(pattern: str) -> None:
    """Raise ValueError if RE2 cannot run ``pattern`` or it is too long."""
    if len(pattern) > MAX_REGEX_LENGTH:
        raise ValueError(f"regex longer than {MAX_REGEX_LENGTH} characters")
    try:
        pc.match_substring_regex(pa.array([""], pa.string()), pattern=pattern)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        msg = str(exc).split("\n")[0]
        msg = re.sub(r"^Invalid regular expression: ", "", msg)
        raise ValueError(f"invalid regex for RE2: {msg}") from None


# --------------------------------------------------------------------------- compiler

Fn = Callable[[Frame], object]


@dataclass
class Compiled:
    """A compiled condition: ``mask(frame)`` gives a numpy bool array."""

    text: str
    fn: Fn
    names: set[str]
    aggregates: list[tuple[str, str | None]]

    def value(self, frame: Frame):
        return self.fn(frame)

    def mask(self, frame: Frame) -> np.ndarray:
        return to_mask(self.fn(frame), frame.n)


class Compiler:
    """Tree → closure. ``columns``: known columns (None: accept any at compile time);
    ``selections``: names of selections (they shadow columns); ``having``: aggregate mode,
    where bare names are group keys (``columns``), ``count`` and ``sum(c) min(c) …`` refer
    to columns of the per-group table and ``c`` must be one of ``agg_columns``."""

    def __init__(
        self,
        columns: set[str] | None = None,
        selections: set[str] | frozenset = frozenset(),
        having: bool = False,
        agg_columns: set[str] | None = None,
        dtypes: dict[str, object] | None = None,
    ):
        self.columns = columns
        self.agg_columns = agg_columns
        # column -> "text" | "number" | "bool" | "time" (None: unknown, no type checks)
        self.types = {c: value_type(d) for c, d in (dtypes or {}).items()}
        self.selections = set(selections)
        self.having = having
        self.names: set[str] = set()
        self.aggregates: list[tuple[str, str | None]] = []

    def compile(self, text: str) -> Compiled:
        tree = parse(text)
        fn = self._node(tree)
        return Compiled(text, fn, self.names, self.aggregates)

    # -- helpers
    @staticmethod
    def _pos(node) -> int:
        if isinstance(node, Token):
            return node.start_pos or 0
        meta = getattr(node, "meta", None)
        if meta is not None and not meta.empty:
            return meta.start_pos
        for child in node.children:
            p = Compiler._pos(child)
            if p is not None:
                return p
        return 0

    def _literal(self, node) -> object:
        """The Python value of a literal node, or raise."""
        kind = node.data
        if kind == "number":
            t = str(node.children[0])
            return float(t) if any(c in t for c in ".eE") else int(t)
        if kind == "neg_number":
            t = str(node.children[0])
            return -(float(t) if any(c in t for c in ".eE") else int(t))
        if kind == "string":
            return _unquote(str(node.children[0]))
        if kind == "duration":
            t = str(node.children[0])
            m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)", t)
            return _seconds(pd.Timedelta(float(m.group(1)), unit=DURATION_UNITS[m.group(2)]))
        if kind == "true":
            return True
        if kind == "false":
            return False
        if kind == "null":
            return None
        raise ConditionError("expected a literal", self._pos(node))

    def _node(self, node) -> Fn:
        kind = node.data
        method = getattr(self, "_n_" + kind, None)
        if method is None:
            value = self._literal(node)
            return lambda f, v=value: v
        return method(node)

    # -- static types (checked when the columns' dtypes are known)
    def _type(self, node) -> str | None:
        kind = node.data
        if kind in ("number", "neg_number", "duration", "neg", "arith"):
            return "number"
        if kind == "string":
            return "text"
        if kind == "null":
            return "null"
        if kind not in _VALUE_NODES:  # true, false, comparisons, and/or/not
            return "bool"
        if kind == "name":
            name = str(node.children[0])
            if name in self.selections:
                return "bool"
            if self.having and name == "count":
                return "number"
            return self.types.get(name)
        if kind == "call":
            fname = str(node.children[0])
            args = node.children[1].children if len(node.children) > 1 else []
            if fname == "lower":
                return "text"
            if fname in ("len", "abs", "count", "nunique", "sum", "mean", "span"):
                return "number"
            if args and fname in ("min", "max", "first", "last"):
                if self.having and len(args) == 1 and isinstance(args[0], Tree):
                    return self.types.get(str(args[0].children[0]))
                return self._type(args[0])
        return None

    def _expect(self, node, want: tuple[str, ...], what: str) -> None:
        got = self._type(node)
        if got is not None and got != "null" and got not in want:
            raise ConditionError(f"{what} needs {' or '.join(want)}, not {got}", self._pos(node))

    def _check_compare(self, left, right) -> None:
        a, b = self._type(left), self._type(right)
        if a is None or b is None or a == b:
            return
        raise ConditionError(f"cannot compare {a} with {b}", self._pos(left))

    # -- logic
    def _n_or_op(self, node):
        a, b = (self._node(c) for c in node.children)
        return lambda f: to_mask(a(f), f.n) | to_mask(b(f), f.n)

    def _n_and_op(self, node):
        a, b = (self._node(c) for c in node.children)
        return lambda f: to_mask(a(f), f.n) & to_mask(b(f), f.n)

    def _n_not_op(self, node):
        a = self._node(node.children[0])
        return lambda f: ~to_mask(a(f), f.n)

    # -- comparisons
    def _no_null_literal(self, node, what: str):
        if isinstance(node, Tree) and node.data == "null":
            raise ConditionError(
                f"{what} with null is always false; use `is null` / `is not null`",
                self._pos(node),
            )

    def _n_compare(self, node):
        left, op, right = node.children
        self._no_null_literal(left, "a comparison")
        self._no_null_literal(right, "a comparison")
        a, b = self._node(left), self._node(right)
        self._check_compare(left, right)
        op = str(op)
        return lambda f: _compare(op, a(f), b(f), f.n)

    def _list(self, node) -> list:
        values = [self._literal(c) for c in node.children]
        for c, v in zip(node.children, values, strict=True):
            if v is None:
                raise ConditionError("null in a list never matches; use `is null`", self._pos(c))
        return values

    def _n_in_op(self, node, negate: bool = False):
        left, lst = node.children
        a = self._node(left)
        values = self._list(lst)
        vt = self._type(left)
        for c, v in zip(lst.children, values, strict=True):
            lt = "text" if isinstance(v, str) else ("bool" if isinstance(v, bool) else "number")
            if vt is not None and lt != vt:
                raise ConditionError(f"list item is {lt} but the value is {vt}", self._pos(c))
        strs = [v for v in values if isinstance(v, str)]
        bools = [v for v in values if isinstance(v, bool)]
        nums = [v for v in values if not isinstance(v, str | bool)]

        def same_kind(v) -> list:
            if isinstance(v, str):
                return strs
            if isinstance(v, bool | np.bool_):
                return bools
            return nums

        def run(f):
            v = a(f)
            n = f.n
            if isinstance(v, np.ndarray):
                v = pd.Series(v, dtype="boolean")
            if _is_scalar(v):
                if _isnull_scalar(v):
                    return np.zeros(n, dtype=bool)
                return np.full(n, (v in same_kind(v)) != negate, dtype=bool)
            if pd.api.types.is_bool_dtype(v.dtype):
                candidates = bools
            elif pd.api.types.is_numeric_dtype(v.dtype):
                candidates = nums
            elif pd.api.types.is_string_dtype(v.dtype) or pd.api.types.is_object_dtype(v.dtype):
                candidates = strs
            else:
                candidates = [x for x in values if not isinstance(x, str | bool)]
            nulls = v.isna().to_numpy()
            if candidates:
                hit = v.isin(candidates).to_numpy(dtype=bool, na_value=False)
            else:
                hit = np.zeros(n, dtype=bool)
            return (~hit if negate else hit) & ~nulls

        return run

    def _n_not_in_op(self, node):
        return self._n_in_op(node, negate=True)

    def _strop(self, node, how: str):
        left, tok = node.children
        self._expect(left, ("text",), f"`{how}`")
        a = self._node(left)
        needle = _unquote(str(tok))

        def run(f):
            v = a(f)
            if _is_scalar(v):
                if not isinstance(v, str):
                    return np.zeros(f.n, dtype=bool)
                ok = {"contains": needle in v, "startswith": v.startswith(needle),
                      "endswith": v.endswith(needle)}[how]  # fmt: skip
                return np.full(f.n, ok, dtype=bool)
            s = _strings(v, how)
            if how == "contains":
                r = s.str.contains(needle, regex=False)
            elif how == "startswith":
                r = s.str.startswith(needle)
            else:
                r = s.str.endswith(needle)
            return r.to_numpy(dtype=bool, na_value=False)

        return run

    def _n_contains(self, node):
        return self._strop(node, "contains")

    def _n_startswith(self, node):
        return self._strop(node, "startswith")

    def _n_endswith(self, node):
        return self._strop(node, "endswith")

    def _n_matches(self, node):
        left, tok = node.children
        self._expect(left, ("text",), "`matches`")
        a = self._node(left)
        pattern = _unquote(str(tok))
        try:
            check_regex(pattern)
        except ValueError as exc:
            raise ConditionError(str(exc), tok.start_pos or 0) from None

        def run(f):
            v = a(f)
            if _is_scalar(v):
                if not isinstance(v, str):
                    return np.zeros(f.n, dtype=bool)
                r = pc.match_substring_regex(pa.array([v]), pattern=pattern)
                return np.full(f.n, bool(r[0].as_py()), dtype=bool)
            s = _strings(v, "matches")
            r = pc.match_substring_regex(_arrow_strings(s), pattern=pattern)
            return r.to_numpy(zero_copy_only=False).astype(bool) & s.notna().to_numpy()

        return run

    def _n_is_null(self, node):
        a = self._node(node.children[0])
        return lambda f: _null_mask(a(f), f.n)

    def _n_is_not_null(self, node):
        a = self._node(node.children[0])
        return lambda f: ~_null_mask(a(f), f.n)

    # -- arithmetic
    def _n_arith(self, node):
        left, op, right = node.children
        op = str(op)
        a, b = self._node(left), self._node(right)
        ta, tb = self._type(left), self._type(right)
        if not (op == "-" and ta == "time" and tb == "time"):
            self._expect(left, ("number",), f"'{op}'")
            self._expect(right, ("number",), f"'{op}'")
        return lambda f: _arith(op, a(f), b(f), f.n, f.df.index)

    def _n_neg(self, node):
        a = self._node(node.children[0])
        self._expect(node.children[0], ("number",), "'-'")

        def run(f):
            v = a(f)
            if _is_scalar(v):
                return pd.NA if _isnull_scalar(v) else -v
            return -v

        return run

    # -- names and calls
    def _n_name(self, node):
        tok = node.children[0]
        name = str(tok)
        if name in self.selections:
            self.names.add(name)
            return lambda f: f.selections[name]
        if self.having and name == "count":
            self.aggregates.append(("count", None))
            return lambda f: f.df["count"]
        if self.columns is not None and name not in self.columns:
            what = "group key" if self.having else "column or selection"
            raise ConditionError(f"unknown {what} {name!r}", tok.start_pos or 0)
        self.names.add(name)

        def run(f):
            try:
                return f.df[name]
            except KeyError:
                raise KeyError(f"table has no column {name!r}") from None

        return run

    def _n_call(self, node):
        tok = node.children[0]
        fname = str(tok)
        args = node.children[1].children if len(node.children) > 1 else []
        pos = tok.start_pos or 0
        if self.having and fname in AGGREGATES and not (fname in ("min", "max") and len(args) > 1):
            if fname == "count" and not args:
                self.aggregates.append(("count", None))
                return lambda f: f.df["count"]
            if len(args) != 1 or not (isinstance(args[0], Tree) and args[0].data == "name"):
                raise ConditionError(f"{fname}() takes one column name", pos)
            col_tok = args[0].children[0]
            col = str(col_tok)
            if self.agg_columns is not None and col not in self.agg_columns:
                raise ConditionError(f"unknown column {col!r}", col_tok.start_pos or 0)
            self.aggregates.append((fname, col))
            key = f"{fname}({col})"
            return lambda f: f.df[key]
        if fname not in FUNCTIONS:
            known = ", ".join(FUNCTIONS + (AGGREGATES if self.having else ()))
            where = "" if self.having else " (aggregates belong in `having`)"
            if fname in AGGREGATES and not self.having:
                raise ConditionError(f"aggregate {fname}() outside `having`{where}", pos)
            raise ConditionError(f"unknown function {fname}(); known: {known}", pos)
        if fname in ("lower", "len") and args:
            self._expect(args[0], ("text",), f"{fname}()")
        if fname == "abs" and args:
            self._expect(args[0], ("number",), "abs()")
        fns = [self._node(a) for a in args]
        if fname in ("lower", "len", "abs") and len(fns) != 1:
            raise ConditionError(f"{fname}() takes one argument", pos)
        if fname in ("min", "max") and len(fns) < 2:
            raise ConditionError(
                f"{fname}() takes two or more arguments here (the aggregate is for `having`)", pos
            )
        if fname == "lower":
            return lambda f: _lower(fns[0](f))
        if fname == "len":
            return lambda f: _len(fns[0](f))
        if fname == "abs":
            return lambda f: _abs(fns[0](f))
        return lambda f: _minmax(fname, [g(f) for g in fns], f.n, f.df.index)


_VALUE_NODES = {"number", "neg_number", "duration", "string", "null", "name", "call", "arith",
                "neg"}  # fmt: skip


def value_type(dtype) -> str | None:
    """The language's type of a pandas dtype (None: unknown)."""
    if dtype is None:
        return None
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "time"
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return "number"
    if isinstance(dtype, pd.StringDtype) or str(dtype) in ("string", "str"):
        return "text"
    return None


def _lower(v):
    if _is_scalar(v):
        return v.lower() if isinstance(v, str) else (pd.NA if _isnull_scalar(v) else v)
    return _strings(v, "lower()").str.lower()


def _len(v):
    if _is_scalar(v):
        return len(v) if isinstance(v, str) else pd.NA
    return _strings(v, "len()").str.len().astype("Int64")


def _abs(v):
    if _is_scalar(v):
        return pd.NA if _isnull_scalar(v) else abs(v)
    return v.abs()


def _minmax(fname: str, values: list, n: int, index):
    if all(_is_scalar(v) for v in values):
        if any(_isnull_scalar(v) for v in values):
            return pd.NA
        return min(values) if fname == "min" else max(values)
    acc = None
    nulls = np.zeros(n, dtype=bool)
    series = [_as_series(v, n, index) for v in values]
    if len({str(s.dtype) for s in series}) > 1 and all(_is_numeric_value(s) for s in series):
        series = [s.astype("Float64") for s in series]
    for v, s in zip(values, series, strict=True):
        nulls |= _null_mask(v, n)
        if acc is None:
            acc = s
            continue
        better = _bool_result(s < acc if fname == "min" else s > acc, n)
        acc = acc.where(~pd.Series(better, index=index), s)
    return acc.mask(pd.Series(nulls, index=index))


def compile_condition(
    text: str,
    columns: set[str] | None = None,
    selections=frozenset(),
    having: bool = False,
    agg_columns: set[str] | None = None,
    dtypes: dict[str, object] | None = None,
) -> Compiled:
    """Parse and compile ``text``; raise ConditionError (with offset) on any problem."""
    return Compiler(columns, selections, having, agg_columns, dtypes).compile(text)
