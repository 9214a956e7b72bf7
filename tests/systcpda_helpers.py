"""Helpers shared by the systcpda kind tests: Lark-vs-row-pattern agreement and the
accounting invariant under any mix of sample lines."""

from __future__ import annotations

import re
from pathlib import Path

from lark import Token

from zdiag.grammar import MATCH_GROUP, extract, lark_parser, row_regex
from zdiag.kinds import systcpda_common as common
from zdiag.kinds.base import Accounting

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "systcpda"


def sample_lines(name: str) -> list[str]:
    return [ln for ln in (SAMPLES / name).read_text().splitlines()
            if not ln.startswith("#zdiag-sample")]  # fmt: skip


def without_callout(line: str) -> str:
    return re.sub(common.CALLOUT, "", line)


def lark_vs_regex(grammar: str, rule: str, line: str) -> tuple[dict, dict]:
    """What Lark's own parser and the derived row pattern read from one line."""
    text = line.strip()
    tree = lark_parser(grammar, start=rule).parse(text)
    by_lark = {t.type.lower(): t.value for t in tree.scan_values(lambda v: isinstance(v, Token))}
    got = extract([text], row_regex(grammar, rule)).row(0, named=True)
    assert got[MATCH_GROUP] is not None, f"row pattern {rule} does not match {text!r}"
    by_regex = {k: v.rstrip() for k, v in got.items() if v is not None and k != MATCH_GROUP}
    by_lark = {k: v.rstrip() for k, v in by_lark.items()}
    return by_lark, by_regex


def accounted(parse, lines: list[str]) -> dict:
    acct = Accounting(len(lines))
    acct.layout([i for i, ln in enumerate(lines) if not ln.strip()])
    parse(lines, acct)
    acct.claim_rest("rest")
    c = acct.counts()
    assert c["parsed"] + c["layout"] + c["unrecognised"] == len(lines)
    return c


def mixed_lines(pool: list[str]):
    """Hypothesis strategy: sample lines shuffled and duplicated (drawn with replacement),
    some of them truncated at any column, as a damaged or spliced report would be."""
    from hypothesis import strategies as st

    def cut(args):
        lines, cuts = args
        lines = list(lines)
        for k, col in cuts:
            if lines:
                i = k % len(lines)
                lines[i] = lines[i][: col % (len(lines[i]) + 1)]
        return lines

    return st.tuples(
        st.lists(st.sampled_from(pool), max_size=40),
        st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 200)), max_size=6),
    ).map(cut)
