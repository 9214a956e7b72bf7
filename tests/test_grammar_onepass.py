"""The one-pass-friendly row patterns match exactly what the former patterns matched.

``derive_row_regex(g, r)`` writes the top level of a row rule "separator after" so that the
Rust regex engine can use its one-pass DFA; ``legacy=True`` is the former "separator
before" derivation. For every row rule of every grammar a kind uses, both must give the same
match mask and the same captured values (after ``extract`` strips ``TRAIL`` groups), with
polars (Rust regex) and with Python ``re``, on (a) every line of the fixtures and of the
shared samples and (b) lines generated from the rule's own items with random blanks,
omitted optional items and mutations.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zdiag import grammar as G

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = Path("/work/shared/samples")
KINDS = ROOT / "src" / "zdiag" / "kinds"


def _row_grammars() -> list[str]:
    """Every grammar a kind module names (``GRAMMAR = "..."``)."""
    names = set()
    for path in KINDS.glob("*.py"):
        names |= set(re.findall(r'^GRAMMAR\s*=\s*"(\w+)"', path.read_text(), re.M))
    return sorted(names)


def _compiles_in_rust(pattern: str) -> bool:
    try:
        pl.Series([""], dtype=pl.String).str.extract_groups(pattern)
    except pl.exceptions.ComputeError:
        return False
    return True


@cache
def _patterns(g: str, r: str) -> tuple[str, str]:
    return G.derive_row_regex(g, r, legacy=True), G.derive_row_regex(g, r)


def _row_rules() -> list[tuple[str, str]]:
    """(grammar, rule) for every rule that is a valid row pattern today (whole-table and
    `start` rules that repeat a terminal are not row rules: their old pattern is invalid)."""
    out = []
    for g in _row_grammars():
        rules, _, _ = G._grammar_parts(g)
        for r in rules:
            try:
                old, _ = _patterns(g, r)
            except ValueError:
                continue
            if _compiles_in_rust(old):
                out.append((g, r))
    return out


ROW_RULES = _row_rules()


@cache
def _py(pattern: str) -> re.Pattern | None:
    """Python ``re`` form, or None where the old pattern itself is not valid for ``re``
    (a case-insensitive literal ``"User Id"i`` inside a row: a global flag not at the
    start, refused since Python 3.11)."""
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _py_groups(m: re.Match | None) -> dict | None:
    if m is None:
        return None
    out = {}
    for k, v in m.groupdict().items():
        if k.endswith(G.TRAIL) and v is not None:
            v = v.rstrip(" \t")
        out[G.column_name(k)] = v
    return out


def _assert_same(g: str, r: str, lines: list[str], py_lines: list[str] | None = None) -> None:
    """Same mask and values with polars over ``lines``, with Python re over ``py_lines``
    (default: the same lines)."""
    old, new = _patterns(g, r)
    s = pl.Series("line", lines, dtype=pl.String)
    a, b = G.extract(s, old), G.extract(s, new)
    assert a.columns == b.columns, (g, r)
    if not a.equals(b):
        diff = (a != b).fill_null(True) | (a.is_null() != b.is_null())
        bad = [i for i in range(len(lines)) if any(diff.row(i))]
        i = bad[0]
        pytest.fail(f"{g}:{r} differs on {lines[i]!r}: {a.row(i, named=True)} "
                    f"vs {b.row(i, named=True)}")  # fmt: skip
    po, pn = _py(old), _py(new)
    if po is None:  # only the Rust engine can run this rule's pattern
        return
    assert pn is not None, (g, r, "the new pattern must compile with Python re")
    for line in lines if py_lines is None else py_lines:
        want, got = _py_groups(po.match(line)), _py_groups(pn.match(line))
        assert want == got, (g, r, line)


def test_rules_found():
    grammars = {g for g, _ in ROW_RULES}
    assert {"systcpda_session", "netstat_zos", "syslog_zos", "trmdstat"} <= grammars
    assert ("systcpda_session", "packet_row") in ROW_RULES
    assert len(ROW_RULES) > 60


# ---- (a) real lines ---------------------------------------------------------------------------
def _real_lines() -> list[str]:
    roots = [ROOT / "fixtures"] + ([SAMPLES] if SAMPLES.is_dir() else [])
    lines: list[str] = []
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix not in (".json", ".md", ".gz", ".zip", ".xlsx"):
                lines += path.read_bytes().decode("utf-8", "replace").splitlines()
    return lines


def _variants(line: str) -> list[str]:
    """A real line and its blank-wise variants: trailing blanks, tabs for spaces, blanks
    collapsed, blanks around punctuation removed, words glued."""
    return [
        line,
        line + "  \t",
        "\t" + line.replace(" ", "\t"),
        re.sub(r"[ \t]+", " ", line).strip(),
        re.sub(r"[ \t]*([,:%()=|-])[ \t]*", r"\1", line),
        re.sub(r"(\S) (\S)", r"\1\2", line, count=1),
    ]


@pytest.fixture(scope="module")
def real_lines() -> tuple[list[str], list[str]]:
    lines = _real_lines()
    assert len(lines) > 1000
    return lines, [v for line in dict.fromkeys(lines) for v in _variants(line)]


@pytest.mark.parametrize(("g", "r"), ROW_RULES, ids=[f"{g}:{r}" for g, r in ROW_RULES])
def test_same_on_real_lines(g, r, real_lines):
    lines, variants = real_lines
    _assert_same(g, r, variants, py_lines=lines)


def test_real_lines_are_matched():
    """The real lines do exercise the patterns: the packet row matches many of them."""
    old, new = _patterns("systcpda_session", "packet_row")
    got = G.extract(pl.Series(_real_lines()), new)[G.MATCH_GROUP].is_not_null().sum()
    assert got > 100


# ---- (b) generated lines ----------------------------------------------------------------------
ASCII = st.characters(codec="ascii", exclude_categories=("Cc",), include_characters="\t\n")
# mostly one blank; sometimes none (glued words), several, tabs
BLANKS = st.sampled_from([" "] * 6 + ["", "  ", "\t", " \t", "   "])


def _strategy(g: str, node, depth: int = 0) -> st.SearchStrategy[list[str]]:
    """Token lists of one grammar node: optional parts present or not, alternatives any."""
    from lark import Tree

    rules, terms, _ = G._grammar_parts(g)
    if isinstance(node, Tree):
        kind = node.data
        if kind == "expansions":
            return st.one_of([_strategy(g, c, depth) for c in node.children])
        if kind == "expansion":
            parts = [_strategy(g, c, depth) for c in node.children]
            return st.tuples(*parts).map(lambda ts: [t for p in ts for t in p])
        if kind == "value":
            return _strategy(g, node.children[0], depth)
        if kind in ("maybe", "expr"):
            inner = _strategy(g, node.children[0], depth)
            op = "?" if kind == "maybe" else node.children[1].value
            lo, hi = {"?": (0, 1), "*": (0, 2), "+": (1, 2)}[op]
            return st.lists(inner, min_size=lo, max_size=hi).map(
                lambda ts: [t for p in ts for t in p]
            )
        if kind == "literal":
            tok = node.children[0]
            if tok.type == "STRING":
                quoted = tok.value[:-1] if tok.value.endswith("i") else tok.value
                body = quoted[1:-1].encode().decode("unicode_escape")
                if tok.value.endswith("i"):
                    return st.sampled_from([body, body.upper(), body.lower()]).map(lambda v: [v])
                return st.just([body])
            return _terminal(G._lit(tok)).map(lambda v: [v])
        raise AssertionError(kind)
    name = node.name
    if name in ("_NL", "NEWLINE", "_NEWLINE"):
        return st.just([])
    if getattr(node, "is_term", name.isupper()):
        return _terminal(terms[name].pattern.to_regexp()).map(lambda v: [v])
    if depth > 5:
        return st.just([])
    return _strategy(g, rules[name], depth + 1)


@cache
def _rule_tokens(g: str, r: str) -> st.SearchStrategy[list[str]]:
    rules, _, _ = G._grammar_parts(g)
    return _strategy(g, rules[r])


@cache
def _terminal(pattern: str) -> st.SearchStrategy[str]:
    # (a newline would end the line: a blank stands in for it)
    return st.from_regex(pattern, fullmatch=True, alphabet=ASCII).map(
        lambda v: v.replace("\n", " ")
    )


@st.composite
def _lines(draw, g: str, r: str) -> str:
    tokens = list(draw(_rule_tokens(g, r)))
    seps = [draw(BLANKS) for _ in range(len(tokens) + 1)]
    line = draw(BLANKS) + "".join(t + s for t, s in zip(tokens, seps[1:], strict=True))
    mutation = draw(st.sampled_from(["none"] * 6 + ["drop", "dup", "char", "cut", "swap"]))
    if mutation == "drop" and tokens:
        k = draw(st.integers(0, len(tokens) - 1))
        line = draw(BLANKS) + "".join(
            t + s for i, (t, s) in enumerate(zip(tokens, seps[1:], strict=True)) if i != k
        )
    elif mutation == "dup" and tokens:
        k = draw(st.integers(0, len(tokens) - 1))
        line = line + " " + tokens[k]
    elif mutation == "char" and line:
        k = draw(st.integers(0, len(line) - 1))
        line = line[:k] + draw(st.sampled_from([" ", "\t", "x", "1", ":", "A", ""])) + line[k:]
    elif mutation == "cut" and line:
        line = line[: draw(st.integers(0, len(line)))]
    elif mutation == "swap" and len(tokens) > 1:
        k = draw(st.integers(0, len(tokens) - 2))
        tokens[k], tokens[k + 1] = tokens[k + 1], tokens[k]
        line = "".join(t + s for t, s in zip(tokens, seps[1:], strict=True))
    return line


@pytest.mark.parametrize(("g", "r"), ROW_RULES, ids=[f"{g}:{r}" for g, r in ROW_RULES])
def test_same_on_generated_lines(g, r):
    @settings(max_examples=4, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(st.lists(_lines(g, r), min_size=1, max_size=10))
    def check(lines):
        _assert_same(g, r, lines)

    check()


# ---- the blank-separated words terminal (TRAIL groups) and the tail forms --------------------
SYNTH = r"""
row_words: NR [WORDS] IO SEQ [TAIL_A] [TAIL_B]
row_punct: NAME ":" [VALUE] [UNIT]
row_mixed: NAME [OPT] [PCT] NAME2
row_lead: [LEAD] [LEAD2] NAME [UNIT]
row_text: NAME [VALUE] [TEXT]
NR: /\d+/
WORDS: /[APRSFU]+(?:[ \t]+[APRSFU]+)*/
IO: /[IO]/
SEQ: /\d+/
TAIL_A: /\d\d:\d\d/
TAIL_B: /[a-z]+/
NAME: /[A-Za-z]+/
NAME2: /[A-Za-z]+/
VALUE: /\d+/
UNIT: /[a-z]+/
OPT: /\d+/
PCT: "%"
LEAD: /\d+/
LEAD2: "#"
TEXT: /\S.*/
%ignore /[ \t]+/
"""


@pytest.fixture
def synth(monkeypatch):
    real = G.grammar_text
    monkeypatch.setattr(
        G, "grammar_text", lambda name: SYNTH if name == "onepass_synth" else real(name)
    )
    for f in (G._grammar_parts, _patterns, _rule_tokens):
        f.cache_clear()
    yield "onepass_synth"
    for f in (G._grammar_parts, _patterns, _rule_tokens):
        f.cache_clear()


def test_trail_group_for_blank_separated_words(synth):
    old, new = _patterns(synth, "row_words")
    assert f"(?P<words{G.TRAIL}>" in new and G.TRAIL not in old
    lines = ["1 A  S\tO 5", "1 A O 5 12:30 ab", "1 O 5", "1 AS  F O 5 ab  ", "1 A O5",
             "1 A\tS O 5 12:30", "1 AO 5", " 1  A O 5 12:30ab", "1 A O 5 ab 12:30"]  # fmt: skip
    _assert_same(synth, "row_words", lines)
    got = G.extract(lines, new)
    assert "words" in got.columns and f"words{G.TRAIL}" not in got.columns
    assert got["words"].to_list()[:4] == ["A  S", "A", None, "AS  F"]
    assert got[G.MATCH_GROUP].is_not_null().to_list() == [
        True, True, True, True, False, True, False, False, False]  # fmt: skip


@pytest.mark.parametrize("rule", ["row_words", "row_punct", "row_mixed", "row_lead", "row_text"])
def test_synthetic_rules(synth, rule):
    @settings(max_examples=15, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(st.lists(_lines(synth, rule), min_size=1, max_size=25))
    def check(lines):
        _assert_same(synth, rule, lines)

    check()


def test_mixed_separators_keep_the_old_form(synth):
    """After NAME either OPT (needs a blank) or PCT (needs none) may come: no single
    separator suits both, so the rule keeps the separator-before form."""
    old, new = _patterns(synth, "row_mixed")
    assert new == old


def test_row_columns_hide_the_suffix(synth, monkeypatch, tmp_path):
    monkeypatch.setenv(G.CACHE_ENV, "off")
    G.row_regex.cache_clear()
    try:
        assert G.row_columns(synth, "row_words") == ["nr", "words", "io", "seq", "tail_a",
                                                     "tail_b"]  # fmt: skip
    finally:
        G.row_regex.cache_clear()


def test_tails_nest_without_end_test():
    """The packet row's optional TIME after DELTA nests (no `$` inside the pattern), the
    form the one-pass DFA accepts."""
    _, new = _patterns("systcpda_session", "packet_row")
    assert new.count("$") == 1 and new.endswith(")?)?$")


def test_text_to_the_end_keeps_its_blanks(synth):
    """A last item ending in `.*` takes the line's trailing blanks (as before); no second
    trailing-blank loop competes with it."""
    old, new = _patterns(synth, "row_text")
    assert new.endswith(".*))?)?$") and "[ \\t]*$" in old
    lines = ["ab 12 some text  ", "ab some\ttext", "ab 12", "ab  ", "ab12 x", "ab 12x y"]
    _assert_same(synth, "row_text", lines)
    assert G.extract(lines, new)["text"].to_list() == ["some text  ", "some\ttext", None, None,
                                                       None, "12x y"]  # fmt: skip


def test_packet_row_with_blank_separated_tcphdr(monkeypatch, real_lines):
    """The packet row with TCPHDR's words separated by `[ \\t]+` (the form that lets the
    whole row be one-pass): a TRAIL group, the same rows and values as before."""
    real = G.grammar_text
    wanted = r"TCPHDR: /[APRSFU]+(?:[ \t]+[APRSFU]+)*/"

    def text(name):
        got = real(name)
        if name == "systcpda_session":
            got = re.sub(r"^TCPHDR: .*$", lambda _: wanted, got, flags=re.M)
        return got

    monkeypatch.setattr(G, "grammar_text", text)
    for f in (G._grammar_parts, _patterns):
        f.cache_clear()
    try:
        old, new = _patterns("systcpda_session", "packet_row")
        assert f"(?P<tcphdr{G.TRAIL}>" in new
        lines, variants = real_lines
        _assert_same("systcpda_session", "packet_row", variants, py_lines=lines)
        got = G.extract(pl.Series(lines), new)
        flags = got["tcphdr"].drop_nulls()
        assert len(flags) > 10 and not flags.str.contains(r"[ \t]$").any()
    finally:
        for f in (G._grammar_parts, _patterns):
            f.cache_clear()


@pytest.mark.parametrize(
    ("rx", "absorbs"),
    [(r"(?P<text>\S.*)", True), (r"[A-Za-z][^\n]*", True), (r"[^;]+", True),
     (r"[^\S]*", True), (r"\S.*?", False), (r"[^\s{}](?:.*[^\s{])?", False),
     (r"(?s:.*)", False), (r"\.*", False), (r"a|.*", False), (r"[^ \t\n]*", False),
     (r"\d*", False), (r"[ \t]{0,3}", False), (r"[A-Za-z \/()-]{0,199}", False)],
)  # fmt: skip
def test_which_last_items_take_the_trailing_blanks(rx, absorbs):
    """Only a greedy unbounded repeat of a class holding space and tab at the very end."""
    assert G._ends_with_dot_star(rx) is absorbs
    if absorbs:  # then rx and rx[ \t]* match the same text with the same value
        for text in ("x y  ", "ab\t", "q"):
            a, b = re.fullmatch(rx, text), re.fullmatch(rx + r"[ \t]*", text)
            assert (a is None) == (b is None)
            assert a is None or a.group() == b.group(0)
