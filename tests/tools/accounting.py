"""The check every parser's property test makes: all lines accounted for, rows in range."""

from __future__ import annotations

from zdiag.kinds.base import Accounting


def parse_accounted(parse, lines: list[str]):
    """Run a kind's ``parse`` as the pipeline does (blank lines pre-marked layout) and
    assert ``parsed + layout + unrecognised == lines`` and that every table row points at
    a line of the input. Returns the tables and the accounting."""
    lines = [ln.replace("\n", " ").replace("\r", " ") for ln in lines]
    acct = Accounting(len(lines))
    acct.layout([i for i, ln in enumerate(lines) if not ln.strip()])
    out = parse(lines, acct)
    acct.claim_rest("left")
    c = acct.counts()
    assert c["parsed"] + c["layout"] + c["unrecognised"] == len(lines)
    for name, df in out.items():
        if "line" in df.columns and len(df):
            assert df["line"].between(1, len(lines)).all(), name
    return out, acct
