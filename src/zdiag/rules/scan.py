"""``zdiag.scan``: parse the inputs, run the rules, and hand back tables, findings and what
happened (rule errors, site overrides), with the exit code of SPEC §2."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
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

    Each part of a spilled table is read once (packets: a bucket of whole connections, with
    zdiag's TCP analysis). A rule whose findings cannot span parts (row by row, or grouped
    by a key that includes the bucket key, e.g. ``[source, conn]``) runs on each part as it
    comes. Any other rule keeps from each part the rows its conditions select, narrowed to
    the columns it names (:func:`zdiag.rules.engine.considered_rows`: conditions are row by
    row, so its findings depend on those rows only), and runs once over them, whatever it
    groups by. A ``correlate`` into a spilled table gets, under a table name of its own, the
    rows its ``where`` selects narrowed to the join keys. Rows that findings name and that
    were not at hand are read back in one last pass. The TableSet handed back holds, for a
    spilled table, exactly the rows findings point at (what the reports show)."""
    from zdiag.analysis.tcp import merge_disagreements
    from zdiag.rules.engine import considered_rows, correlated_rows, sort_findings

    spill = tables.spill
    files = {r.id: r.file for r in rules}
    small = {n: tables[n] for n in tables}
    on_disk = set(spill.tables)
    rules, wanted = _split_correlates(rules, on_disk)
    per_part = [r for r in rules if r.source in on_disk and _within_a_part(r, wanted)]
    gather = [r for r in rules if r.source in on_disk and r not in per_part]
    errors: dict[str, RuleError] = {}
    considered: dict[str, list[pd.DataFrame]] = {r.id: [] for r in gather}
    narrow: dict[str, list[pd.DataFrame]] = {alias: [] for alias in wanted}
    derived: dict[str, list[pd.DataFrame]] = {}
    frames: list[pd.DataFrame] = []
    evidence: dict[str, list[pd.DataFrame]] = {n: [] for n in on_disk}

    def fail(rid: str, exc: Exception) -> None:
        errors.setdefault(rid, RuleError(rid, files[rid], str(exc)))

    for name in sorted(on_disk):
        here = [r for r in per_part if r.source == name]
        for rows, extra in _parts(spill, name, small):
            for t, df in extra.items():  # conn_analysis, ibm_disagreements of these packets
                derived.setdefault(t, []).append(df)
            found, errs = run_rules(here, TableSet({**small, name: rows}))
            for e in errs:
                errors.setdefault(e.rule_id, e)
            frames.append(found)
            evidence[name] += _evidence_rows(found, name, rows)
            for r in gather:
                if r.source == name and r.id not in errors:
                    try:
                        picked = considered_rows(r, rows)
                    except RuleRuntimeError as exc:
                        fail(r.id, exc)
                        continue
                    considered[r.id].append(picked[_columns_named(r, picked)])
            for alias, (table, corr) in wanted.items():
                rid = alias.split("#")[1]
                if table != name or rid in errors:
                    continue
                try:
                    picked = correlated_rows(corr, rows)
                except RuleRuntimeError as exc:  # the rule cannot run, as in memory
                    fail(rid, exc)
                    continue
                keep = set(corr["on"].values()) | {"case", "source", "line"}
                narrow[alias].append(picked[[c for c in picked.columns if c in keep]])
    joined = dict(small)
    for name, parts in derived.items():
        if name == "ibm_disagreements":  # counts per file and letter: add up the buckets'
            joined[name] = T.conform(name, merge_disagreements(parts))
        else:
            joined[name] = T.conform(name, pd.concat(parts, ignore_index=True))
        parts.clear()
    for alias, parts in narrow.items():
        joined[alias] = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        parts.clear()
    order = _file_order(small.get("files"))

    def run(batch: list[Rule], view: dict) -> None:
        found, errs = run_rules(batch, TableSet(view))
        for e in errs:
            errors.setdefault(e.rule_id, e)
        frames.append(found)

    run([r for r in rules if r.source not in on_disk and r.id not in errors], joined)
    for r in gather:  # each over the rows it considers, gathered from every part (and
        if r.id not in errors:  # let go before the next one is gathered)
            run([r], {**joined, r.source: _in_file_order(considered.pop(r.id), order, r.source)})
    findings = _unalias_evidence(sort_findings(frames))
    frames.clear()  # the parts' findings are in ``findings`` now
    for alias in narrow:
        joined.pop(alias)
    for name in on_disk:  # rows findings name that are not at hand: one more pass
        have = set().union(*(_refs_of_rows(p) for p in evidence[name]))
        more = _refs(findings, name) - have
        del have
        if more:
            evidence[name] += list(_rows_named(spill, name, small, more))
        df = _in_file_order(evidence.pop(name), order, name, unique=True)
        joined[name] = df if T.conforms(name, df) else T.conform(name, df)
    out = TableSet(joined)
    out.spill = spill
    return out, findings, list(errors.values())


def _within_a_part(rule: Rule, wanted: dict) -> bool:
    """Whether the rule's findings never need rows of two parts: it looks at rows one by
    one, or groups by a key that includes the table's bucket key (and correlates with no
    table still being gathered)."""
    from zdiag.spill import BUCKET_KEYS

    if any(c["table"] in wanted for c in rule.correlate):
        return False
    if not rule.group_by and not rule.sequence:
        return True
    keys = set(BUCKET_KEYS.get(rule.source, ()))
    return bool(keys) and keys <= set(rule.group_by)


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _columns_named(rule: Rule, df: pd.DataFrame) -> list[str]:
    """The columns of ``df`` a rule may read: every name in its conditions, keys, message
    and evidence (a few more than needed is harmless), the provenance and the time."""
    from zdiag.rules.engine import TIME_COLUMNS

    texts = [*rule.where.values(), rule.condition or "", rule.having or "", rule.message,
             *rule.group_by, *rule.evidence, *rule.sequence]  # fmt: skip
    texts += [k for c in rule.correlate for k in c.get("on", {})]
    names = {m.group(0) for t in texts for m in _NAME.finditer(str(t))}
    names |= {"case", "source", "line", *TIME_COLUMNS}
    return [c for c in df.columns if c in names]


def _parts(spill, name: str, small: dict) -> Iterator[tuple[pd.DataFrame, dict]]:
    """A spilled table a part at a time, with zdiag's TCP analysis when it is the packets
    (a bucket holds whole connections): (rows, tables the analysis derived)."""
    from zdiag.analysis.tcp import add_to_tables as add_tcp_analysis

    for part in spill.buckets(name):
        if name != "packets":
            yield part, {}
            continue
        whole = add_tcp_analysis({"files": small["files"], name: part})
        yield whole[name], {t: df for t, df in whole.items() if t not in ("files", name)}


def _rows_named(spill, name: str, small: dict, refs: set) -> Iterator[pd.DataFrame]:
    """The rows at ``refs`` ((source, line) pairs), read back part by part; packets get
    their analysis columns from their own connections only."""
    from zdiag.analysis.tcp import add_to_tables as add_tcp_analysis

    refs = _Lines(refs)
    for part in spill.buckets(name):
        hit = _rows_at(part, refs)
        if not len(hit):
            continue
        if name == "packets":  # analyse just the connections these rows belong to
            conns = part["conn"].isin(set(hit["conn"].dropna()))
            part = add_tcp_analysis({"files": small["files"], name: part[conns]})[name]
            hit = _rows_at(part.reset_index(drop=True), refs)
        yield hit


def _file_order(files: pd.DataFrame | None) -> dict[str, int]:
    if files is None or not len(files):
        return {}
    return {str(s): i for i, s in enumerate(files["source"].astype(str))}


def _in_file_order(parts: list[pd.DataFrame], order: dict[str, int], name: str,
                   unique: bool = False) -> pd.DataFrame:  # fmt: skip
    """Rows gathered from a table's parts, back in the order the table has in memory: files
    in the order they were read, lines within a file; with ``unique``, a row named twice
    (same source and line) once.

    Built a column at a time, each column dropped from the parts once it is taken, so that
    the parts and the result are not held whole side by side (the list is emptied)."""
    parts[:] = [p for p in parts if len(p)]
    if not parts:
        return T.empty(name)
    if len(parts) == 1:
        only = parts.pop()
        parts = [only.copy(deep=False)]
    source = pd.concat([p["source"] for p in parts], ignore_index=True).astype(str)
    codes, names = pd.factorize(source, use_na_sentinel=False)
    del source
    rank = np.array([order.get(str(s), len(order)) for s in names], dtype=np.int64)[codes]
    line = np.concatenate([p["line"].to_numpy(dtype="int64", na_value=0) for p in parts])
    idx = np.lexsort((line, codes, rank))  # stable: a repeated row keeps its first copy first
    if unique and len(idx) > 1:
        c, ln = codes[idx], line[idx]
        idx = idx[np.r_[True, (c[1:] != c[:-1]) | (ln[1:] != ln[:-1])]]
    columns = list(dict.fromkeys(c for p in parts for c in p.columns))
    out = {}
    for c in columns:
        dtype = next(p[c].dtype for p in parts if c in p.columns)
        col = pd.concat([p[c] if c in p.columns else pd.Series(pd.NA, index=p.index, dtype=dtype)
                         for p in parts], ignore_index=True)  # fmt: skip
        for p in parts:
            if c in p.columns:
                del p[c]
        out[c] = col.take(idx).reset_index(drop=True)
        del col
    parts.clear()
    return pd.DataFrame(out, copy=False)


def _split_correlates(rules: list[Rule], on_disk: set[str]):
    """Rules with each ``correlate`` into a spilled table pointed at a table of its own
    (``<table>#<rule id>#<n>``, rows already selected by its ``where``), and those tables:
    alias → (spilled table, correlate entry)."""
    import dataclasses

    wanted: dict[str, tuple[str, dict]] = {}
    out = []
    for r in rules:
        if not any(c["table"] in on_disk for c in r.correlate):
            out.append(r)
            continue
        corrs = []
        for i, c in enumerate(r.correlate):
            if c["table"] in on_disk:
                alias = f"{c['table']}#{r.id}#{i}"
                wanted[alias] = (c["table"], c)
                c = {k: v for k, v in c.items() if k != "where"} | {"table": alias}
            corrs.append(c)
        out.append(dataclasses.replace(r, correlate=corrs))
    return out, wanted


def _unalias_evidence(findings: pd.DataFrame) -> pd.DataFrame:
    """Evidence that names ``<table>#<rule>#<n>`` names ``<table>`` again."""
    if not len(findings):
        return findings
    evidence = findings["evidence"].tolist()
    aliased = [i for i, evs in enumerate(evidence) if any("#" in str(e["table"]) for e in evs)]
    if not aliased:  # no rule correlated into a spilled table: nothing to copy
        return findings
    for i in aliased:
        evidence[i] = [{**e, "table": str(e["table"]).split("#")[0]} for e in evidence[i]]
    findings = findings.copy(deep=False)
    findings["evidence"] = evidence
    return findings


def _refs(findings: pd.DataFrame, table: str) -> set[tuple[str, int]]:
    if not len(findings):
        return set()
    return {(str(e["source"]), int(e["line"])) for evs in findings["evidence"] for e in evs
            if e.get("table") == table}  # fmt: skip


def _refs_of_rows(rows: pd.DataFrame) -> set[tuple[str, int]]:
    return set(zip(rows["source"].astype(str), rows["line"].astype("int64"), strict=True))


class _Lines:
    """(source, line) pairs as sorted line numbers per source, to find them in many parts
    without building an index of every pair for each part."""

    def __init__(self, refs: set[tuple[str, int]]):
        per: dict[str, list[int]] = {}
        for source, line in refs:
            per.setdefault(source, []).append(line)
        self.lines = {s: np.unique(np.asarray(v, dtype=np.int64)) for s, v in per.items()}


def _rows_at(rows: pd.DataFrame, refs: set[tuple[str, int]] | _Lines) -> pd.DataFrame:
    """The rows at ``refs``, copied (taken), so that they hold no part's buffers."""
    index = refs if isinstance(refs, _Lines) else _Lines(refs)
    if not len(rows) or not index.lines:
        return rows.iloc[:0].copy()
    codes, names = pd.factorize(rows["source"].astype(str), use_na_sentinel=False)
    line = rows["line"].to_numpy(dtype="int64", na_value=-1)
    hit = np.zeros(len(rows), dtype=bool)
    for k, source in enumerate(names):
        want = index.lines.get(str(source))
        if want is None:
            continue
        at = np.flatnonzero(codes == k)
        pos = np.searchsorted(want, line[at]).clip(0, len(want) - 1)
        hit[at[want[pos] == line[at]]] = True
    return rows.take(np.flatnonzero(hit))


def _evidence_rows(findings: pd.DataFrame, table: str, rows: pd.DataFrame) -> list[pd.DataFrame]:
    """The rows of ``rows`` (one bucket of ``table``) that findings name as evidence: a
    copy, or nothing (an empty slice would keep the whole bucket's Arrow buffers alive)."""
    refs = _refs(findings, table)
    hit = _rows_at(rows, refs) if refs and len(rows) else None
    return [hit] if hit is not None and len(hit) else []


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
