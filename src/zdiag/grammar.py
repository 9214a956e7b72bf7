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

import polars as pl

from zdiag.resources import data_dir, grammar_path, grammar_text

if TYPE_CHECKING:
    from lark import Lark, Token
    from lark.lexer import TerminalDef

MATCH_GROUP = "__m"
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
    """

    def __init__(self, name: str):
        self.rules, self.terms, ignore = _grammar_parts(name)
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


def derive_row_regex(grammar: str, rule: str) -> str:
    """:func:`row_regex` computed from the grammar (no cache)."""
    body = _Compiler(grammar).rule(rule)
    return rf"^(?P<{MATCH_GROUP}>)[ \t]*{body}[ \t]*$"


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


def row_columns(grammar: str, rule: str) -> list[str]:
    """The column names a row rule captures, in pattern order."""
    return [g for g in re.compile(row_regex(grammar, rule)).groupindex if g != MATCH_GROUP]


def extract(lines: pl.Series | list[str], pattern: str) -> pl.DataFrame:
    """Run a row pattern over many lines at once; one string column per group.

    ``__m`` is non-null on the rows that matched.
    """
    s = lines if isinstance(lines, pl.Series) else pl.Series("line", lines, dtype=pl.String)
    return s.str.extract_groups(pattern).struct.unnest()
