"""Property test: for random small tables and random well-formed conditions, the vectorised
mask equals a slow row-by-row reference evaluator written here, independently of the
compiler (only the grammar, i.e. the parse tree, is shared)."""

from __future__ import annotations

import operator
import re

import hypothesis.strategies as st
import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from lark import Token, Tree

from zdiag.rules.condition import Frame, compile_condition, parse

# --------------------------------------------------------------------------- the oracle

CMP = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
       ">": operator.gt, ">=": operator.ge}  # fmt: skip
UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _num(v):
    return isinstance(v, int | float) and not isinstance(v, bool)


def truthy(v) -> bool:
    return v is not None and bool(v)


def literal(node):
    kind = node.data
    tok = str(node.children[0]) if node.children else ""
    if kind == "number":
        return float(tok) if any(c in tok for c in ".eE") else int(tok)
    if kind == "neg_number":
        return -(float(tok) if any(c in tok for c in ".eE") else int(tok))
    if kind == "string":
        return tok[1:-1].encode().decode("unicode_escape")
    if kind == "duration":
        m = re.fullmatch(r"([\d.]+)(ms|s|m|h|d)", tok)
        return float(m.group(1)) * UNITS[m.group(2)]  # durations are seconds
    return {"true": True, "false": False, "null": None}[kind]


def ev(node, row: dict):
    """Evaluate a parse tree on one row (a dict of Python values, None for null)."""
    k = node.data
    c = node.children
    if k == "or_op":
        return truthy(ev(c[0], row)) or truthy(ev(c[1], row))
    if k == "and_op":
        return truthy(ev(c[0], row)) and truthy(ev(c[1], row))
    if k == "not_op":
        return not truthy(ev(c[0], row))
    if k == "compare":
        a, b = ev(c[0], row), ev(c[2], row)
        return a is not None and b is not None and CMP[str(c[1])](a, b)
    if k in ("in_op", "not_in_op"):
        v = ev(c[0], row)
        if v is None:
            return False
        items = [literal(x) for x in c[1].children]
        same = [x for x in items if type(x) is type(v) or (_num(x) and _num(v))]
        found = any(x == v for x in same)
        return found if k == "in_op" else not found
    if k in ("contains", "startswith", "endswith"):
        v = ev(c[0], row)
        needle = literal(Tree("string", [c[1]]))
        if not isinstance(v, str):
            return False
        return {"contains": needle in v, "startswith": v.startswith(needle),
                "endswith": v.endswith(needle)}[k]  # fmt: skip
    if k == "matches":
        v = ev(c[0], row)
        return isinstance(v, str) and re.search(literal(Tree("string", [c[1]])), v) is not None
    if k == "is_null":
        return ev(c[0], row) is None
    if k == "is_not_null":
        return ev(c[0], row) is not None
    if k == "arith":
        a, b = ev(c[0], row), ev(c[2], row)
        if a is None or b is None:
            return None
        op = str(c[1])
        if op == "/":
            return None if b == 0 else a / b
        return {"+": operator.add, "-": operator.sub, "*": operator.mul}[op](a, b)
    if k == "neg":
        v = ev(c[0], row)
        return None if v is None else -v
    if k == "name":
        return row[str(c[0])]
    if k == "call":
        fname = str(c[0])
        args = [ev(a, row) for a in (c[1].children if len(c) > 1 else [])]
        if any(a is None for a in args):
            return None
        if fname == "lower":
            return args[0].lower()
        if fname == "len":
            return len(args[0])
        if fname == "abs":
            return abs(args[0])
        return min(args) if fname == "min" else max(args)
    return literal(node)


def oracle_mask(text: str, df: pd.DataFrame) -> np.ndarray:
    tree = parse(text)
    rows = [
        {c: (None if pd.isna(v) else (v.item() if hasattr(v, "item") else v))
         for c, v in zip(df.columns, vals, strict=True)}
        for vals in zip(*(df[c].tolist() for c in df.columns), strict=True)
    ]  # fmt: skip
    return np.array([truthy(ev(tree, r)) for r in rows], dtype=bool)


# --------------------------------------------------------------------------- generators

ints = st.one_of(st.none(), st.integers(-20, 20))
floats = st.one_of(st.none(), st.sampled_from([0.0, 0.5, -1.25, 2.0, 3.75, 10.0]))
texts = st.one_of(st.none(), st.text(alphabet="abAB ", max_size=4))
bools = st.one_of(st.none(), st.booleans())


@st.composite
def frames(draw):
    n = draw(st.integers(0, 8))
    return pd.DataFrame(
        {
            "a": pd.array(draw(st.lists(ints, min_size=n, max_size=n)), dtype="Int64"),
            "b": pd.array(draw(st.lists(ints, min_size=n, max_size=n)), dtype="Int64"),
            "x": pd.array(draw(st.lists(floats, min_size=n, max_size=n)), dtype="Float64"),
            "s": pd.array(draw(st.lists(texts, min_size=n, max_size=n)), dtype="string[pyarrow]"),
            "f": pd.array(draw(st.lists(bools, min_size=n, max_size=n)), dtype="boolean"),
        }
    )


num_leaf = st.one_of(
    st.sampled_from(["a", "b", "x", "len(s)"]),
    st.integers(-5, 20).map(str),
    st.sampled_from(["0.5", "2.25", "1s", "500ms"]),
)


def num_expr():
    return st.recursive(
        num_leaf,
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            inner.map(lambda e: f"-{e}" if not e.startswith("-") else f"-({e})"),
            inner.map(lambda e: f"abs({e})"),
            st.tuples(st.sampled_from(["min", "max"]), inner, inner).map(
                lambda t: f"{t[0]}({t[1]}, {t[2]})"
            ),
        ),
        max_leaves=5,
    )


str_expr = st.sampled_from(["s", "lower(s)", '"ab"', '"B"', '""'])
str_lit = st.sampled_from(['"a"', '"ab"', '"A"', '" "', '""', '"b a"'])
regex_lit = st.sampled_from(['"^a"', '"b$"', '"a.b"', '"[AB]+"', '"ab|ba"', '"^$"', '"a b"'])


def bool_atom():
    num = num_expr()
    return st.one_of(
        st.tuples(num, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), num).map(" ".join),
        st.tuples(str_expr, st.sampled_from(["==", "!=", "<", ">="]), str_expr).map(" ".join),
        st.tuples(
            num,
            st.sampled_from(["in", "not in"]),
            st.lists(st.sampled_from(["0", "1", "-2", "0.5", "2s", "3"]), max_size=3),
        ).map(lambda t: f"{t[0]} {t[1]} [{', '.join(t[2])}]"),  # fmt: skip
        st.tuples(str_expr, st.sampled_from(["in", "not in"]), st.lists(str_lit, max_size=3)).map(
            lambda t: f"{t[0]} {t[1]} [{', '.join(t[2])}]"
        ),
        st.tuples(str_expr, st.sampled_from(["contains", "startswith", "endswith"]), str_lit).map(
            " ".join
        ),
        st.tuples(str_expr, regex_lit).map(lambda t: f"{t[0]} matches {t[1]}"),
        st.tuples(
            st.sampled_from(["a", "x", "s", "f", "len(s)", "(a / b)"]),
            st.sampled_from(["is null", "is not null"]),
        ).map(" ".join),  # fmt: skip
        st.sampled_from(["f", "f == true", "f != false", "f in [true]", "s", "a", "x"]),
        num,
    )


conditions = st.recursive(
    bool_atom(),
    lambda inner: st.one_of(
        inner.map(lambda e: f"not ({e})"),
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
            lambda t: f"({t[0]}) {t[1]} ({t[2]})"
        ),
    ),
    max_leaves=4,
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=frames(), cond=conditions)
def test_vectorised_mask_equals_row_by_row_oracle(df, cond):
    compiled = compile_condition(cond, set(df.columns), dtypes=dict(df.dtypes))
    got = compiled.mask(Frame(df))
    want = oracle_mask(cond, df)
    assert got.dtype == bool and len(got) == len(df)
    assert got.tolist() == want.tolist(), (cond, df.to_dict("list"))


def test_oracle_itself_on_known_cases():
    """The oracle must be right too: a few hand-checked rows."""
    df = pd.DataFrame(
        {"a": pd.array([1, None], dtype="Int64"), "s": pd.array(["ab", None], dtype="string")}
    )
    assert oracle_mask("a == 1", df).tolist() == [True, False]
    assert oracle_mask("not a == 1", df).tolist() == [False, True]
    assert oracle_mask("a != 1", df).tolist() == [False, False]
    assert oracle_mask('s matches "^a"', df).tolist() == [True, False]
    assert oracle_mask("a / 0 is null", df).tolist() == [True, True]


def test_token_type_used_by_oracle():
    # the oracle reads STRING tokens by position; keep that assumption checked
    tree = parse('s contains "x"')
    assert isinstance(tree.children[1], Token) and tree.children[1].type == "STRING"
