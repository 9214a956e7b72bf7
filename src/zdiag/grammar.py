"""The Lark grammars, and the fast path derived from them.

Every report kind keeps its syntax in ``grammars/<kind>.lark``. Block-structured parts are
parsed with Lark (LALR). Row-per-line tables are the hot path: :func:`row_regex` walks a
row rule of the same grammar and concatenates the regular expressions of its terminals into
one anchored pattern with a named group per named terminal, which polars (Rust regex) then
runs over a whole column of lines at once. The grammar stays the only place the layout is
written down; the pattern is derived, never written by hand.

Rules for row grammars, so that the derived pattern means what Lark means:
- terminals whose name starts with ``_`` are matched but not captured; others become a
  column named after the terminal in lower case (alias a shared terminal, ``SEQ: INT``, to
  use it twice in one row);
- ``%ignore`` of blanks becomes optional blanks between items; ``?``, ``*``, ``+``, ``[..]``
  and ``|`` map to their regex counterparts; sub-rules are inlined;
- patterns must be valid for both Python ``re`` and Rust ``regex`` (no look-around,
  no back-references).

Speed: Rust regex finds the groups of a row several times faster when the pattern is
"one-pass" (at every point the next byte decides the path; :func:`derive_row_regex` writes
the separators so that it can be). What a grammar can do for it: terminals that can follow
each other should not start with the same characters; a terminal of several blank-separated
words should separate them with ``[ \\t]+`` (``X(?:[ \\t]+X)*``, captured with the blank after
it and stripped again), not `` +`` or a single space; a free-text terminal belongs at the end
of the row as ``\\S.*``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from zdiag.resources import data_dir, grammar_path, grammar_text

if TYPE_CHECKING:
    from lark import Lark, Token
    from lark.lexer import TerminalDef

MATCH_GROUP = "__m"
#: suffix of a group that carries the blanks after its value (one-pass form of a terminal of
#: blank-separated words); :func:`extract` strips them and the suffix
TRAIL = "__t"
# `X(?:[ \t]+X)*`: words X separated by blanks (Lark gives the tab as a tab character)
_MULTIWORD = re.compile(r"(?P<x>.+)\(\?:\[(?: (?:\\t|\t)|(?:\\t|\t) )\]\+(?P=x)\)\*")
#: environment variable naming the row-pattern cache folder ("" or "off" turns it off)
CACHE_ENV = "ZDIAG_CACHE_DIR"


@cache
def lark_parser(name: str, start: str = "start", parser: str = "lalr", **options) -> Lark:
    """A Lark parser for ``grammars/<name>.lark`` (cached; no transformer)."""
    from lark import Lark

    return Lark(
        grammar_text(name),
        start=start,
        parser=parser,
        propagate_positions=False,
        maybe_placeholders=False,
        import_paths=[str(grammar_path(name).parent)],
        **options,
    )


def lark_with_transformer(name: str, transformer, start: str = "start") -> Lark:
    """An LALR parser that runs ``transformer`` inline (no tree is built)."""
    from lark import Lark

    return Lark(
        grammar_text(name),
        start=start,
        parser="lalr",
        transformer=transformer,
        maybe_placeholders=False,
        import_paths=[str(grammar_path(name).parent)],
    )


@cache
def _grammar_parts(name: str):
    from lark.load_grammar import load_grammar

    text = grammar_text(name)
    gram, _ = load_grammar(text, f"{name}.lark", [str(grammar_path(name).parent)], False)
    rules = {r[0]: r[2] for r in gram.rule_defs}
    ignore = set(gram.ignore)
    # Compile once to obtain each terminal's final regexp (imports and aliases resolved).
    terms, _, _ = gram.compile(list(rules), ignore)
    by_name: dict[str, TerminalDef] = {t.name: t for t in terms}
    return rules, by_name, ignore


def _lit(token: Token) -> str:
    value = token.value
    if token.type == "STRING":
        flags = ""
        if value.endswith("i"):
            value, flags = value[:-1], "(?i)"
        body = value[1:-1].encode().decode("unicode_escape")
        return f"(?:{flags}{re.escape(body)})" if flags else re.escape(body)
    # REGEXP literal /.../flags
    end = value.rindex("/")
    body, flags = value[1:end], value[end + 1 :]
    return f"(?{flags}:{body})" if flags else body


class _Compiler:
    """Turns a row rule's tree into one regex.

    Blank handling mirrors Lark's ``%ignore``: between two word-like items (terminals) at
    least one blank is required, so that ``123 456`` can never be read as ``12``+``3456``;
    next to a punctuation literal (``,`` ``(`` ``%``) blanks are optional.

    Sub-expressions are compiled "separator before": ``A(?:SEP B)?SEP C``. The top-level
    sequence of a row rule (:meth:`row`) is compiled "separator after" instead, so that the
    pattern is one-pass where the items allow (module docstring of :func:`derive_row_regex`);
    ``legacy=True`` compiles the top level the old way too (kept for the equivalence tests).
    """

    def __init__(self, name: str, legacy: bool = False):
        self.rules, self.terms, ignore = _grammar_parts(name)
        self.legacy = legacy
        pats = [self.terms[i].pattern.to_regexp() for i in ignore if i in self.terms]
        # `[ \t]+` repeated again would nest quantifiers (catastrophic for Python re)
        pats = [p[:-1] if p.endswith("+") and not p.endswith("\\+") else p for p in pats]
        self.blank = "(?:" + "|".join(pats) + ")" if pats else ""
        self.groups: set[str] = set()
        self.stack: list[str] = []

    def rule(self, rule_name: str) -> str:
        if rule_name in self.stack:
            raise ValueError(f"row rule {rule_name!r} is recursive; a row pattern cannot be")
        self.stack.append(rule_name)
        try:
            return self.node(self.rules[rule_name])[0]
        finally:
            self.stack.pop()

    def sep(self, left_punct: bool, right_punct: bool) -> str:
        if not self.blank:
            return ""
        return self.blank + ("*" if left_punct or right_punct else "+")

    # Each node compiles to (regex, is_punctuation, is_optional).
    def node(self, node) -> tuple[str, bool, bool]:
        from lark import Tree

        if isinstance(node, Tree):
            kind = node.data
            if kind == "expansions":
                alts = [self.node(c) for c in node.children]
                if len(alts) == 1:
                    return alts[0]
                body = "(?:" + "|".join(a[0] for a in alts) + ")"
                return body, all(a[1] for a in alts), any(a[2] for a in alts)
            if kind == "expansion":
                return self.sequence([self.node(c) for c in node.children])
            if kind == "expr":
                inner, op = node.children[0], node.children[1]
                body, punct, _ = self.node(inner)
                if op.value == "?":
                    return body, punct, True
                if op.value in ("*", "+"):
                    rep = f"{body}(?:{self.sep(punct, punct)}{body})*"
                    return rep, punct, op.value == "*"
                raise ValueError(f"repetition {op.value!r} is not supported in a row rule")
            if kind == "maybe":
                body, punct, _ = self.node(node.children[0])
                return body, punct, True
            if kind == "value":
                return self.node(node.children[0])
            if kind == "literal":
                tok = node.children[0]
                rx = _lit(tok)
                punct = tok.type == "STRING" and not re.search(r"\w", tok.value[1:-1])
                return rx, punct, False
            raise ValueError(f"grammar construct {kind!r} is not supported in a row rule")
        name = getattr(node, "name", None)
        if name is None:
            raise ValueError(f"unexpected grammar node {node!r}")
        if getattr(node, "is_term", name.isupper()):
            if name in ("_NL", "NEWLINE", "_NEWLINE"):
                return "", True, True
            pat = self.terms[name].pattern
            rx = pat.to_regexp()
            punct = pat.type == "str" and not re.search(r"\w", pat.value)
            if name.startswith("_"):
                return f"(?:{rx})", punct, False
            group = name.lower()
            if group in self.groups:
                raise ValueError(f"terminal {name} is used twice in one row; alias it")
            self.groups.add(group)
            return f"(?P<{group}>{rx})", punct, False
        return self.rule(name), False, False

    def sequence(self, items: list[tuple[str, bool, bool]]) -> tuple[str, bool, bool]:
        items = [i for i in items if i[0]]
        if not items:
            return "", True, True
        out: list[str] = []
        seen_mandatory = False
        for k, (body, punct, optional) in enumerate(items):
            prev_punct = items[k - 1][1] if k else True
            next_punct = items[k + 1][1] if k + 1 < len(items) else True
            if not seen_mandatory:
                if optional:
                    out.append(f"(?:{body}{self.sep(punct, next_punct)})?")
                else:
                    out.append(body)
                    seen_mandatory = True
            else:
                piece = self.sep(prev_punct, punct) + body
                out.append(f"(?:{piece})?" if optional else piece)
        whole = "".join(out)
        all_optional = not seen_mandatory
        punct = all(i[1] for i in items)
        return (f"(?:{whole})" if len(items) > 1 else whole), punct, all_optional

    # ---- the top level of a row rule: separators after the items -----------------------
    def row(self, rule_name: str) -> str:
        """The whole row after the leading blanks, up to and including ``$``."""
        from lark import Tree

        if self.legacy or not _blank_is_space_tab(self.blank):
            return self.rule(rule_name) + r"[ \t]*$"
        self.stack.append(rule_name)
        try:
            tree = self.rules[rule_name]
            alts = tree.children if isinstance(tree, Tree) and tree.data == "expansions" else [tree]
            bodies = [self.row_sequence(alt) for alt in alts]
        finally:
            self.stack.pop()
        return bodies[0] if len(bodies) == 1 else "(?:" + "|".join(bodies) + ")"

    def row_sequence(self, alt) -> str:
        """One alternative of a row rule, trailing blanks and ``$`` included.

        Present item ``p`` is followed by one separator that suits every item that may come
        next (the items up to the next mandatory one, or the end of the line): ``B*`` when
        all of them allow no blank, ``B+`` when all need one, ``(?:B+|$)`` when they need one
        or the line may end. When the candidates disagree (one needs a blank, another not),
        no such separator exists and the alternative keeps the old form.
        """
        from lark import Tree

        children = alt.children if isinstance(alt, Tree) and alt.data == "expansion" else [alt]
        compiled = [(c, self.node(c)) for c in children]
        compiled = [(c, i) for c, i in compiled if i[0]]
        items = [i for _, i in compiled]
        n = len(items)
        mandatory = [k for k, i in enumerate(items) if not i[2]]
        legacy = self.sequence(items)[0] + r"[ \t]*$"
        if not mandatory:
            return legacy
        first = mandatory[0]
        b = self.blank
        out: list[str] = []
        for k in range(first):  # leading optional items: already separator-after
            body, punct, _ = items[k]
            out.append(f"(?:{body}{self.sep(punct, items[k + 1][1])})?")
        # the separator each item after the first mandatory one needs before it
        need = ["*" if k == 0 or items[k - 1][1] or items[k][1] else "+" for k in range(n)]
        gaps: list[str] = []
        for p in range(first, n):
            nexts: list[str] = []
            q, end = p + 1, True
            while q < n:
                nexts.append(need[q])
                if not items[q][2]:
                    end = False
                    break
                q += 1
            kinds = set(nexts)
            if end and kinds <= {"*"}:
                gaps.append(b + "*")
            elif end and kinds == {"+"}:
                gaps.append(f"(?:{b}+|$)")
            elif not end and len(kinds) == 1:
                gaps.append(b + kinds.pop())
            else:
                return legacy
        pieces: list[tuple[str, str, bool]] = []  # (item, separator after it, optional)
        for p in range(first, n):
            body, _, optional = items[p]
            gap = gaps[p - first]
            multi = self.multiword(compiled[p][0]) if gap == b + "+" else None
            if multi is not None:
                body, gap = multi, ""
            pieces.append((body, gap, optional))
        last = pieces[-1]
        if last[1] == b + "*" and _ends_with_dot_star(last[0]):
            # `TEXT=\S.*` already takes the blanks at the end of the line (greedy, also in
            # the old pattern); a second `B*` there would compete with it for them
            pieces[-1] = (last[0], "", last[2])
        either = f"(?:{b}+|$)"
        at = [k for k, (_, gap, opt) in enumerate(pieces) if gap == either]
        if at and not pieces[at[0]][2]:
            # `L(?:B+|$)(?:T B*)?` as `L(?:B+(?:T B*)?)?`: the same language (all items after
            # L are optional) without the `$` test, which the one-pass DFA cannot tell from
            # T's first byte when L could go on with that byte (`\d+` then a `\d` TIME)
            k = at[0]
            rest = "".join(f"(?:{body}{gap})?" for body, gap, _ in pieces[k + 1 :])
            pieces[k] = (pieces[k][0] + f"(?:{b}+{rest})?", "", False)
            del pieces[k + 1 :]
        out += [f"(?:{body}{gap})?" if opt else body + gap for body, gap, opt in pieces]
        return "".join(out) + "$"

    def multiword(self, child) -> str | None:
        """A named terminal ``X(?:[ \t]+X)*`` (words separated by blanks) that a blank
        follows: ``(?P<name__t>(?:X[ \t]+)+)``, the same language with the separator inside
        the group, so that the words' end needs no look-ahead. :func:`extract` strips the
        trailing blanks and the suffix."""
        term = _bare_terminal(child)
        if term is None or term.startswith("_"):
            return None
        rx = self.terms[term].pattern.to_regexp()
        m = _MULTIWORD.fullmatch(rx)
        if m is None or _may_touch_blank(m["x"]):
            return None
        group = term.lower()
        return f"(?P<{group}{TRAIL}>(?:{m['x']}{self.blank}+)+)"


def _blank_is_space_tab(blank: str) -> bool:
    """True when the grammar's %ignore blank is one space or tab (``[ \t]+``), the blank
    of the outer ``[ \t]*``; the separator-after form relies on that."""
    if not blank:
        return False
    rx = re.compile(blank)
    hits = {chr(c) for c in range(256) if rx.fullmatch(chr(c))}
    return hits == {" ", "\t"} and not rx.fullmatch("") and not rx.fullmatch("  ")


def _ends_with_dot_star(rx: str) -> bool:
    """True when ``rx`` ends with a greedy unbounded repeat of a class that holds the blanks
    (``.*``, ``[^\\n]*``, ``[^;]+``; groups looked into): the blanks at the end of the line
    then belong to it, so ``rx`` and ``rx[ \\t]*`` match the same lines with the same value."""
    import re._parser as sre  # noqa: PLC0415 - the stdlib's own regex parser

    try:
        sub = sre.parse(rx)
    except re.error:
        return False
    while True:
        if not len(sub):
            return False
        op, av = sub[-1]
        name = str(op)
        if name == "SUBPATTERN":
            if av[1] or av[2]:  # flags added or removed inside: DOTALL could differ
                return False
            sub = av[3]
        elif name == "MAX_REPEAT":
            _, hi, body = av
            return hi == sre.MAXREPEAT and len(body) == 1 and _holds_blanks(body[0])
        else:
            return False


def _holds_blanks(item) -> bool:
    """A single-character regex item (``re._parser``) that matches both space and tab."""
    op, av = item
    name = str(op)
    if name == "ANY":
        return True
    if name == "NOT_LITERAL":
        return av not in (9, 32)
    if name != "IN":
        return False
    import re._constants as c  # noqa: PLC0415

    def has(ch: int) -> bool:
        negate, hit = False, False
        for o, v in av:
            if o is c.NEGATE:
                negate = True
            elif o is c.LITERAL:
                hit |= v == ch
            elif o is c.RANGE:
                hit |= v[0] <= ch <= v[1]
            elif o is c.CATEGORY:
                if v in (c.CATEGORY_SPACE, c.CATEGORY_NOT_DIGIT, c.CATEGORY_NOT_WORD):
                    hit = True
                elif v not in (c.CATEGORY_DIGIT, c.CATEGORY_WORD, c.CATEGORY_NOT_SPACE):
                    return False  # unknown: say no (conservative)
            else:
                return False
        return hit != negate

    return has(9) and has(32)


def _bare_terminal(node) -> str | None:
    """The terminal name when a top-level item is one terminal, optional or not."""
    from lark import Tree

    while isinstance(node, Tree):
        if node.data in ("value", "maybe") or (node.data in ("expansions", "expansion")):
            if len(node.children) != 1:
                return None
            node = node.children[0]
        elif node.data == "expr" and getattr(node.children[1], "value", "") == "?":
            node = node.children[0]
        else:
            return None
    name = getattr(node, "name", None)
    return name if name and getattr(node, "is_term", name.isupper()) else None


def _may_touch_blank(rx: str) -> bool:
    """False only when ``rx`` surely matches neither a blank (space, tab) nor the empty
    string (conservative: anything unclear counts as a blank)."""
    import re._parser as sre  # noqa: PLC0415 - the stdlib's own regex parser
    from re._constants import CATEGORY_DIGIT, CATEGORY_WORD

    def chars_ok(items) -> bool:
        for op, av in items:
            name = str(op)
            if name == "LITERAL":
                if av in (9, 32):
                    return False
            elif name == "RANGE":
                if av[0] <= 9 <= av[1] or av[0] <= 32 <= av[1]:
                    return False
            elif name == "CATEGORY":
                if av not in (CATEGORY_DIGIT, CATEGORY_WORD):
                    return False
            else:  # NEGATE and anything else
                return False
        return True

    def ok(sub) -> bool:
        for op, av in sub:
            name = str(op)
            if name == "LITERAL":
                if av in (9, 32):
                    return False
            elif name == "IN":
                if not chars_ok(av):
                    return False
            elif name == "SUBPATTERN":
                if not ok(av[3]):
                    return False
            elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                if not ok(av[2]):
                    return False
            elif name == "BRANCH":
                if not all(ok(b) for b in av[1]):
                    return False
            else:  # ANY, NOT_LITERAL, look-around, back-references, anchors ...
                return False
        return True

    try:
        parsed = sre.parse(rx)
    except re.error:
        return True
    return parsed.getwidth()[0] == 0 or not ok(parsed)


@cache
def row_regex(grammar: str, rule: str) -> str:
    """The anchored pattern of one row rule of ``grammars/<grammar>.lark``.

    The pattern starts with an empty group ``__m`` that is non-null exactly when a line
    matched, so one extraction pass yields both the columns and the match mask.

    Deriving a pattern loads the grammar with Lark (~0.1 s a grammar, plus importing Lark);
    the patterns are therefore kept on disk (:func:`cache_dir`) under a key made of the text
    of every grammar and of this module, so that a changed grammar or deriver is never
    served a stale pattern.
    """
    cached = _disk_patterns().get(f"{grammar}:{rule}")
    if cached is not None:
        return cached
    pattern = derive_row_regex(grammar, rule)
    _store_pattern(f"{grammar}:{rule}", pattern)
    return pattern


def derive_row_regex(grammar: str, rule: str, legacy: bool = False) -> str:
    """:func:`row_regex` computed from the grammar (no cache).

    The top-level sequence is written so that the Rust regex engine can use its one-pass
    DFA to find the groups (several times faster than its PikeVM): at every point the next
    byte must decide the path. Blanks therefore go AFTER items: an optional item is
    ``(?:ITEM SEP)?``, optional items at the end nest (``L(?:SEP(?:T B*)?)?$``), and a
    terminal of blank-separated words followed by a blank captures that blank too
    (``TRAIL`` groups). ``legacy=True`` gives the former "separator before" pattern, which
    matches the same lines with the same values (tests/test_grammar_onepass.py).
    """
    body = _Compiler(grammar, legacy=legacy).row(rule)
    return rf"^(?P<{MATCH_GROUP}>)[ \t]*{body}"


def cache_dir() -> Path | None:
    """The row-pattern cache folder: ``$ZDIAG_CACHE_DIR``, else ``$XDG_CACHE_HOME/zdiag``
    or ``~/.cache/zdiag``; None when turned off (``ZDIAG_CACHE_DIR`` empty or ``off``)."""
    env = os.environ.get(CACHE_ENV)
    if env is not None:
        return None if env.strip().lower() in ("", "off", "0", "none") else Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "zdiag"


@cache
def _patterns_key() -> str:
    h = hashlib.sha256()
    h.update(Path(__file__).read_bytes())
    for path in sorted(data_dir("grammars").glob("*.lark")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:24]


def _cache_file() -> Path | None:
    d = cache_dir()
    return None if d is None else d / f"row-patterns-{_patterns_key()}.json"


_DISK: dict[str, str] | None = None


def _disk_patterns() -> dict[str, str]:
    global _DISK
    if _DISK is None:
        _DISK = {}
        try:
            f = _cache_file()
            if f is not None and f.is_file():
                got = json.loads(f.read_text(encoding="utf-8"))
                if isinstance(got, dict):
                    _DISK = {k: v for k, v in got.items() if isinstance(v, str)}
        except (OSError, ValueError):
            _DISK = {}
    return _DISK


def _store_pattern(key: str, pattern: str) -> None:
    """Add one pattern to the disk cache (atomic replace; any failure leaves no cache)."""
    pats = _disk_patterns()
    pats[key] = pattern
    try:
        f = _cache_file()
        if f is None:
            return
        f.parent.mkdir(parents=True, exist_ok=True)
        merged = dict(pats)
        if f.is_file():  # another process may have added patterns meanwhile
            try:
                old = json.loads(f.read_text(encoding="utf-8"))
                if isinstance(old, dict):
                    merged = {**old, **merged}
            except ValueError:
                pass
        fd, tmp = tempfile.mkstemp(prefix=".row-patterns-", dir=f.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(merged, fh, sort_keys=True)
        os.replace(tmp, f)
    except OSError:
        pass


def line_pattern(grammar: str, rule: str, lead: str = "") -> re.Pattern[bytes]:
    """A row rule as a bytes pattern that finds such lines in a buffer of many lines
    (``re.MULTILINE``, no groups, a CR before the line end allowed): e.g. where
    :mod:`zdiag.stream` may cut a large report. ``lead`` is a regex allowed after the line's
    leading blanks and before the rule (a kind's own tolerance, such as a figure callout)."""
    pattern = row_regex(grammar, rule)
    head, blanks = rf"^(?P<{MATCH_GROUP}>)", r"[ \t]*"
    if not (pattern.startswith(head + blanks) and pattern.endswith("$")):
        raise ValueError(f"{grammar}:{rule}: not an anchored row pattern")
    body = re.sub(r"\(\?P<\w+>", "(?:", pattern[len(head + blanks) : -1])
    return re.compile(f"^{blanks}{lead}{body}\r?$".encode(), re.MULTILINE)


class CutPoints:
    """A kind's ``chunk_marker`` for :mod:`zdiag.stream`: where a large report may be cut,
    in order of preference — the first line ``patterns[0]`` finds in the rest of the buffer,
    else the first line ``patterns[1]`` finds, and so on. Each is a compiled bytes pattern
    (``re.MULTILINE``, anchored with ``^``) or a function giving one (a :func:`line_pattern`
    built on first use)."""

    def __init__(self, *patterns):
        self._patterns = patterns

    def search(self, buf, pos: int):
        for pattern in self._patterns:
            found = (pattern() if callable(pattern) else pattern).search(buf, pos)
            if found is not None:
                return found
        return None


def row_columns(grammar: str, rule: str) -> list[str]:
    """The column names a row rule captures, in pattern order."""
    return [column_name(g) for g in re.compile(row_regex(grammar, rule)).groupindex
            if g != MATCH_GROUP]  # fmt: skip


def column_name(group: str) -> str:
    """The column a pattern group fills (a ``TRAIL`` group's name without its suffix)."""
    return group[: -len(TRAIL)] if group.endswith(TRAIL) else group


def matches(lines: pl.Series | list[str], pattern: str) -> np.ndarray:
    """Which lines a row pattern matches (a bool array): the same lines as ``extract``'s
    non-null ``__m``, found without capturing groups (the regex engine's DFA alone)."""
    s = lines if isinstance(lines, pl.Series) else pl.Series("line", lines, dtype=pl.String)
    return s.str.contains(pattern).fill_null(False).to_numpy()


def by_distinct(s: pl.Series, fn, most: float = 0.7) -> pl.DataFrame:
    """``fn(s)`` (a frame with a row per value of ``s``, such as :func:`extract`'s), worked
    out once per distinct value and joined back to every row, when at most ``most`` of the
    values are distinct (report lines repeat: snapshots of the same connections, zero
    counters); else ``fn(s)`` itself. ``fn`` must give each value the same row wherever it
    stands."""
    distinct = s.unique()
    if len(distinct) > most * len(s):
        return fn(s)
    key = "\x00value"  # not a column name fn gives: those are words
    got = fn(distinct).with_columns(distinct.alias(key))
    return (
        s.alias(key).to_frame()
        .join(got, on=key, how="left", maintain_order="left", nulls_equal=True)
        .drop(key)
    )  # fmt: skip


def extract(lines: pl.Series | list[str], pattern: str) -> pl.DataFrame:
    """Run a row pattern over many lines at once; one string column per group.

    ``__m`` is non-null on the rows that matched. A ``TRAIL`` group (value and the blanks
    after it) comes out as its column without those blanks.
    """
    s = lines if isinstance(lines, pl.Series) else pl.Series("line", lines, dtype=pl.String)
    got = s.str.extract_groups(pattern).struct.unnest()
    trail = [c for c in got.columns if c.endswith(TRAIL)]
    if trail:
        got = got.with_columns(
            pl.col(c).str.strip_chars_end(" \t").alias(column_name(c)) for c in trail
        ).select(column_name(c) for c in got.columns)
    return got
