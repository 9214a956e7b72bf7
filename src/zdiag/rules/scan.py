"""``zdiag.scan``: parse the inputs, run the rules, and hand back tables, findings and what
happened (rule errors, site overrides), with the exit code of SPEC §2."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from zdiag import tables as T
from zdiag.rules.engine import RuleError, RuleRuntimeError, run_rules
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
    """Run rules over tables already parsed (and, for tables kept on disk, a bucket at a
    time: see :func:`_scan_spilled`)."""
    ruleset = resolve_rules(rules)
    if tables.spill is not None and tables.spill.tables:
        tables, findings, errors = _scan_spilled(tables, ruleset.rules)
    else:
        findings, errors = run_rules(ruleset.rules, tables)
    return ScanResult(tables, findings, ruleset.rules, ruleset.overrides, errors, _level(fail_on))


def _scan_spilled(tables: TableSet, rules: list[Rule]):
    """Rules over a TableSet whose large tables are in its spill (:mod:`zdiag.spill`).

    Each bucket of a spilled table is read once: zdiag's TCP analysis runs on it (a
    connection's packets are all in one bucket), then every rule whose source it is (their
    groups are connections, or single rows), and the rows that other rules' ``correlate``
    entries may take are kept. Then the other rules run once over the in-memory tables with
    those rows and the analysis tables joined. The TableSet handed back holds, for a spilled
    table, the rows findings point at and the correlated rows (what the reports show)."""
    from zdiag.analysis.tcp import add_to_tables as add_tcp_analysis
    from zdiag.analysis.tcp import merge_disagreements
    from zdiag.rules.engine import correlated_rows, sort_findings

    spill = tables.spill
    small = {n: tables[n] for n in tables}
    on_disk = set(spill.tables)
    per_bucket = [r for r in rules if r.source in on_disk]
    once = [r for r in rules if r.source not in on_disk]
    wanted = [c for r in once for c in r.correlate if c["table"] in on_disk]
    frames: list[pd.DataFrame] = []
    errors: dict[str, RuleError] = {}
    kept: dict[str, list[pd.DataFrame]] = {n: [] for n in on_disk}
    derived: dict[str, list[pd.DataFrame]] = {}
    for name in on_disk:
        for bucket in spill.buckets(name):
            whole = add_tcp_analysis({**small, name: bucket})
            for extra in set(whole) - set(small) - {name}:  # conn_analysis, ibm_disagreements
                derived.setdefault(extra, []).append(whole[extra])
            rows = whole[name]
            found, errs = run_rules(per_bucket, TableSet({**small, **whole}))
            for e in errs:
                errors.setdefault(e.rule_id, e)
            frames.append(found)
            for corr in wanted:
                try:
                    kept[name].append(correlated_rows(corr, rows))
                except RuleRuntimeError:
                    pass  # reported by the rule itself when it runs below
            kept[name].append(_evidence_rows(found, name, rows))
    joined = dict(small)
    for name, parts in {**kept, **derived}.items():
        parts = [p for p in parts if len(p)]
        if name == "ibm_disagreements":  # counts per file and letter: add up the buckets'
            df = merge_disagreements(parts)
        else:
            df = pd.concat(parts, ignore_index=True) if parts else T.empty(name)
        if name in kept and len(df):
            df = df.drop_duplicates(subset=["source", "line"]).sort_values(["source", "line"])
        joined[name] = T.conform(name, df.reset_index(drop=True))
    out = TableSet(joined)
    out.spill = spill
    found, errs = run_rules(once, out)
    for e in errs:
        errors.setdefault(e.rule_id, e)
    return out, sort_findings([*frames, found]), list(errors.values())


def _evidence_rows(findings: pd.DataFrame, table: str, rows: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``rows`` (one bucket of ``table``) that findings name as evidence."""
    if not len(findings) or not len(rows):
        return rows.iloc[0:0]
    refs = {(ev["source"], ev["line"]) for evs in findings["evidence"] for ev in evs
            if ev.get("table") == table}  # fmt: skip
    if not refs:
        return rows.iloc[0:0]
    keys = pd.MultiIndex.from_arrays([rows["source"].astype(str), rows["line"].astype("int64")])
    return rows[keys.isin(list(refs))]


def scan(
    paths: str | Path | Iterable[str | Path],
    rules=None,
    fail_on: str = "high",
    kind: str | None = None,
    case: str = "",
) -> ScanResult:
    """Parse ``paths`` (files, folders, archives) and run ``rules`` over the tables."""
    from zdiag.pipeline import _as_paths, collect, parse_sources
    from zdiag.sources import iter_sources
    from zdiag.spill import Spill

    ruleset = resolve_rules(rules)  # bad rules fail before any parsing work
    spill = Spill()  # large files' packets stay on disk (removed with the result)
    sources = iter_sources(_as_paths(paths))
    tables = collect(parse_sources(sources, kind=kind, case=case, spill=spill), spill=spill)
    return scan_tables(tables, ruleset, fail_on)
