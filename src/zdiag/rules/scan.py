"""``zdiag.scan``: parse the inputs, run the rules, and hand back tables, findings and what
happened (rule errors, site overrides), with the exit code of SPEC §2."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from zdiag.rules.engine import RuleError, run_rules
from zdiag.rules.model import LEVEL_RANK, LEVELS, Rule, RuleSet, load_rules
from zdiag.tables import TableSet

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT = 0, 1, 3


@dataclass
class ScanResult:
    """What a scan produced. ``findings`` is conformed to ``tables.SCHEMAS['findings']``."""

    tables: TableSet
    findings: pd.DataFrame
    rules: list[Rule]
    overrides: list[dict] = field(default_factory=list)
    rule_errors: list[RuleError] = field(default_factory=list)
    fail_on: str = "high"

    @property
    def readable(self) -> bool:
        """At least one input was recognised and parsed without a file-level error."""
        files = self.tables.get("files")
        if files is None or not len(files):
            return False
        ok = ~files["kind"].isin(["unknown", ""]).fillna(True) & files["error"].isna()
        return bool(ok.any())

    def at_or_above(self, level: str) -> pd.DataFrame:
        if str(level).lower() == "never":
            return self.findings.iloc[0:0]
        rank = LEVEL_RANK[_level(level)]
        return self.findings[self.findings["level"].map(LEVEL_RANK).fillna(-1) >= rank]

    def exit_code(self, fail_on: str | None = None) -> int:
        """0: no finding at or above ``fail_on``; 1: some; 3: no readable input at all."""
        if not self.readable:
            return EXIT_INPUT
        return EXIT_FINDINGS if len(self.at_or_above(fail_on or self.fail_on)) else EXIT_OK


def _level(level: str) -> str:
    """A level name, or ``never`` (as a fail-on threshold: nothing fails)."""
    level = str(level).lower()
    if level not in LEVEL_RANK and level != "never":
        raise ValueError(f"unknown level {level!r}; one of {', '.join(LEVELS)}")
    return level


def resolve_rules(rules) -> RuleSet:
    """``rules``: None (bundled), a RuleSet, Rule objects, or folders of site rules."""
    if rules is None:
        return load_rules()
    if isinstance(rules, RuleSet):
        return rules
    if isinstance(rules, Rule):
        return RuleSet([rules])
    if isinstance(rules, str | Path):
        return load_rules([rules])
    items = list(rules)
    if all(isinstance(r, Rule) for r in items):
        return RuleSet(items)
    return load_rules(items)


def scan_tables(tables: TableSet, rules=None, fail_on: str = "high") -> ScanResult:
    """Run rules over tables already parsed."""
    ruleset = resolve_rules(rules)
    findings, errors = run_rules(ruleset.rules, tables)
    return ScanResult(tables, findings, ruleset.rules, ruleset.overrides, errors, _level(fail_on))


def scan(
    paths: str | Path | Iterable[str | Path],
    rules=None,
    fail_on: str = "high",
    kind: str | None = None,
    case: str = "",
) -> ScanResult:
    """Parse ``paths`` (files, folders, archives) and run ``rules`` over the tables."""
    from zdiag.pipeline import parse

    ruleset = resolve_rules(rules)  # bad rules fail before any parsing work
    tables = parse(paths, kind=kind, case=case)
    return scan_tables(tables, ruleset, fail_on)
