"""The rule model: one YAML file per rule, validated by a JSON Schema (unknown keys rejected),
then checked for meaning (condition syntax, columns, placeholders, examples) with every
problem reported as ``file:line:col: message``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import jsonschema

from zdiag import tables
from zdiag.rules import yamlpos
from zdiag.rules.condition import AGGREGATES, Compiler, ConditionError

LEVELS = ("info", "low", "medium", "high", "critical")
LEVEL_RANK = {lv: i for i, lv in enumerate(LEVELS)}
IDENT = r"^[A-Za-z_][A-Za-z0-9_]*$"
DURATION = r"^\s*\d+(\.\d+)?\s*(ms|s|m|h|d)\s*$"

_str = {"type": "string", "minLength": 1}
_strlist = {"type": "array", "items": _str}
_ident_list = {"type": "array", "items": {"type": "string", "pattern": IDENT}, "minItems": 1}

SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "zdiag rule",
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "title", "level", "source", "message"],
    "properties": {
        "id": {"type": "string", "pattern": r"^[a-z0-9]+(-[a-z0-9]+)*$"},
        "title": _str,
        "level": {"enum": list(LEVELS)},
        "status": {"enum": ["stable", "test", "experimental"]},
        "references": _strlist,
        "description": {"type": "string"},
        "remedy": {"type": "string"},
        "source": {"type": "string", "pattern": IDENT},
        "where": {
            "type": "object",
            "propertyNames": {"pattern": IDENT},
            "additionalProperties": _str,
        },
        "condition": _str,
        "group_by": _ident_list,
        "having": _str,
        "sequence": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*\+?$"},
        },
        "within": {"type": "string", "pattern": DURATION},
        "gap": _str,
        "correlate": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["table", "on"],
                "properties": {
                    "table": {"type": "string", "pattern": IDENT},
                    "on": {
                        "type": "object",
                        "minProperties": 1,
                        "propertyNames": {"pattern": IDENT},
                        "additionalProperties": {"type": "string", "pattern": IDENT},
                    },
                    "where": _str,
                    "require": {"type": "boolean"},
                },
            },
        },
        "message": _str,
        "evidence": {"type": "array", "items": {"type": "string", "pattern": IDENT}},
        "examples": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"match": _strlist, "nomatch": _strlist},
        },
    },
    "anyOf": [{"required": ["condition"]}, {"required": ["sequence"]}],
}

PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
AGG_PLACEHOLDER = re.compile(r"^(\w+)\((\w+)\)$")


@dataclass
class Problem:
    """One rule problem, printed as ``file:line:col: message``."""

    file: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.message}"


@dataclass
class Rule:
    """A validated rule; ``data`` is the YAML mapping, ``doc`` keeps positions for lint."""

    id: str
    title: str
    level: str
    source: str
    message: str
    path: Path | None = None
    status: str = "stable"
    references: list[str] = field(default_factory=list)
    description: str = ""
    remedy: str = ""
    where: dict[str, str] = field(default_factory=dict)
    condition: str | None = None
    group_by: list[str] = field(default_factory=list)
    having: str | None = None
    sequence: list[str] = field(default_factory=list)
    within: str | None = None
    gap: str | None = None
    correlate: list[dict] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    examples: dict[str, list[str]] = field(default_factory=dict)
    bundled: bool = False
    doc: yamlpos.Located | None = field(default=None, repr=False)

    @property
    def file(self) -> str:
        return str(self.path) if self.path else f"<rule {self.id}>"

    @classmethod
    def from_dict(cls, data: dict, path: Path | None = None, doc=None, bundled=False) -> Rule:
        kw = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**kw, path=path, doc=doc, bundled=bundled)

    def example_paths(self, which: str) -> list[Path]:
        return [resolve_example(self.path, p) for p in self.examples.get(which, [])]


class RuleLoadError(ValueError):
    """Rules that could not be loaded; ``problems`` lists each ``file:line:col: message``."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def resolve_example(rule_path: Path | None, example: str) -> Path:
    """Example paths are relative to the rule file's folder or to any folder above it (so
    ``fixtures/rules/x/a.txt`` works from ``rules/tcp/x.yaml`` in a checkout)."""
    p = Path(example)
    if p.is_absolute() or rule_path is None:
        return p
    for base in [rule_path.parent, *rule_path.parent.parents]:
        if (base / p).exists():
            return base / p
    return rule_path.parent / p


# --------------------------------------------------------------------------- loading


def _schema_problems(file: str, doc: yamlpos.Located) -> list[Problem]:
    out = []
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for err in sorted(validator.iter_errors(doc.value), key=lambda e: list(e.absolute_path)):
        path = tuple(err.absolute_path)
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            allowed = set(err.schema.get("properties", {}))
            for key in err.instance:
                if key not in allowed:
                    loc = doc.key_at(path + (key,))
                    out.append(Problem(file, loc.line, loc.col, f"unknown key {key!r}"))
            continue
        if err.validator == "anyOf" and not path:
            out.append(Problem(file, 1, 1, "a rule needs `condition` or `sequence`"))
            continue
        if err.validator == "required":
            loc = doc.at(path)
            missing = re.search(r"'([^']+)' is a required property", err.message)
            name = missing.group(1) if missing else err.message
            where = "" if not path else f" in {path[-1]}"
            out.append(Problem(file, loc.line, loc.col, f"missing required key {name!r}{where}"))
            continue
        if err.validator == "propertyNames":
            loc = (
                doc.key_at(path + (err.instance,))
                if isinstance(err.instance, str)
                else doc.at(path)
            )
            out.append(Problem(file, loc.line, loc.col, f"{err.instance!r} is not a valid name"))
            continue
        loc = doc.at(path)
        name = ".".join(str(p) for p in path) or "rule"
        if err.validator == "enum":
            allowed = ", ".join(str(v) for v in err.validator_value)
            msg = f"{name}: {err.instance!r} is not one of {allowed}"
        elif err.validator == "pattern":
            hint = " (kebab-case: lower-case words joined by '-')" if path == ("id",) else ""
            msg = f"{name}: {err.instance!r} is not valid{hint}"
        elif err.validator == "type":
            msg = f"{name}: expected {err.validator_value}, got {_type_name(err.instance)}"
        else:
            msg = f"{name}: {err.message}"
        out.append(Problem(file, loc.line, loc.col, msg))
    return out


def _type_name(v) -> str:
    return {dict: "a mapping", list: "a list", str: "text", bool: "a boolean", int: "a number",
            float: "a number", type(None): "nothing"}.get(type(v), type(v).__name__)  # fmt: skip


def load_rule_file(path: Path, bundled: bool = False) -> tuple[Rule | None, list[Problem]]:
    """Load and schema-check one rule file; never raises for bad content."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(file, 1, 1, f"cannot read rule: {exc}")]
    doc, problems = _checked(file, text)
    if problems:
        return None, list(problems)
    return Rule.from_dict(doc.value, Path(path), doc, bundled), []


@lru_cache(maxsize=512)
def _checked(file: str, text: str) -> tuple[yamlpos.Located | None, tuple[Problem, ...]]:
    """A rule file's document and its syntax and schema problems, for this exact text (a
    batch loads the same rules for every case; the document is only read after this)."""
    try:
        doc = yamlpos.load(text)
    except yamlpos.YamlError as exc:
        return None, (Problem(file, exc.loc.line, exc.loc.col, exc.message),)
    problems = [Problem(file, loc.line, loc.col, msg) for loc, msg in doc.errors]
    if not isinstance(doc.value, dict):
        return None, (*problems, Problem(file, 1, 1, "a rule file must hold one mapping"))
    return doc, tuple(problems + _schema_problems(file, doc))


def rule_files(folder: Path) -> list[Path]:
    folder = Path(folder)
    if folder.is_file():
        return [folder]
    return sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


@dataclass
class RuleSet:
    """Loaded rules (site rules already applied over bundled ones)."""

    rules: list[Rule]
    overrides: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def __iter__(self):
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def get(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)


def _load_dir_set(folders, bundled: bool) -> tuple[dict[str, Rule], list[Problem]]:
    rules: dict[str, Rule] = {}
    problems: list[Problem] = []
    for folder in folders:
        if not Path(folder).exists():
            problems.append(Problem(str(folder), 1, 1, "no such rules folder or file"))
            continue
        for path in rule_files(Path(folder)):
            rule, probs = load_rule_file(path, bundled=bundled)
            problems += probs
            if rule is None:
                continue
            if rule.id in rules:
                loc = rule.doc.at(("id",))
                first = rules[rule.id]
                floc = first.doc.at(("id",))
                problems.append(
                    Problem(str(path), loc.line, loc.col,
                            f"duplicate rule id {rule.id!r} (first in {first.file}:{floc.line}:{floc.col})")
                )  # fmt: skip
                continue
            rules[rule.id] = rule
    return rules, problems


def load_rules(dirs=None, with_bundled: bool = True, strict: bool = True) -> RuleSet:
    """Bundled rules plus the site's own from ``dirs`` (same id: site wins, recorded in
    ``overrides``). With ``strict`` any problem raises RuleLoadError listing all of them."""
    from zdiag.resources import rules_dir

    bundled: dict[str, Rule] = {}
    problems: list[Problem] = []
    if with_bundled:
        bundled, problems = _load_dir_set([rules_dir()], bundled=True)
    if isinstance(dirs, str | Path):
        dirs = [dirs]
    site, site_problems = _load_dir_set(list(dirs or []), bundled=False)
    problems += site_problems
    merged = dict(bundled)
    overrides = []
    for rid, rule in site.items():
        if rid in merged:
            overrides.append({"id": rid, "bundled": merged[rid].file, "site": rule.file})
        merged[rid] = rule
    if strict and problems:
        raise RuleLoadError(problems)
    return RuleSet(list(merged.values()), overrides, problems)


# --------------------------------------------------------------------------- lint


def table_dtypes(table: str) -> dict[str, object] | None:
    """Columns and dtypes lint accepts for ``table`` (None when the table is unknown)."""
    schema = tables.SCHEMAS.get(table)
    if schema is None:
        return None
    out = dict(schema)
    if table == "packets":
        out.update(tables.PACKET_ANALYSIS_COLUMNS)
    return out


def table_columns(table: str) -> set[str] | None:
    dtypes = table_dtypes(table)
    return None if dtypes is None else set(dtypes)


def _cond_problem(rule: Rule, path: tuple, exc: ConditionError) -> Problem:
    doc = rule.doc
    node = doc.nodes.get(path) if doc else None
    if node is None:
        loc = doc.at(path) if doc else yamlpos.Loc(1, 1)
    else:
        loc = yamlpos.offset_loc(node, str(node.value), exc.offset, doc.text)
    return Problem(rule.file, loc.line, loc.col, f"{_path_name(path)}: {exc.message}")


def _path_name(path: tuple) -> str:
    return ".".join(str(p) for p in path)


def _at(rule: Rule, path: tuple, key: bool = False) -> tuple[int, int]:
    if rule.doc is None:
        return 1, 1
    loc = rule.doc.key_at(path) if key else rule.doc.at(path)
    return loc.line, loc.col


def check_rule(rule: Rule, check_examples: bool = True) -> list[Problem]:
    """Meaning checks on a schema-valid rule (no data needed)."""
    out: list[Problem] = []
    f = rule.file
    dtypes = table_dtypes(rule.source)
    cols = None if dtypes is None else set(dtypes)
    if cols is None:
        line, col = _at(rule, ("source",))
        known = ", ".join(sorted(t for t in tables.SCHEMAS if t not in ("files", "findings")))
        out.append(Problem(f, line, col, f"source: unknown table {rule.source!r}; known: {known}"))
    selections: set[str] = set()
    for name, text in rule.where.items():
        if cols is not None and name in cols:
            line, col = _at(rule, ("where", name), key=True)
            out.append(Problem(f, line, col, f"where: selection {name!r} hides the column of the same name"))  # fmt: skip
        try:
            Compiler(cols, selections, dtypes=dtypes).compile(text)
        except ConditionError as exc:
            out.append(_cond_problem(rule, ("where", name), exc))
        selections.add(name)
    if rule.condition is not None:
        try:
            Compiler(cols, selections, dtypes=dtypes).compile(rule.condition)
        except ConditionError as exc:
            out.append(_cond_problem(rule, ("condition",), exc))
    for i, step in enumerate(rule.sequence):
        name = step.rstrip("+")
        if name not in selections:
            line, col = _at(rule, ("sequence", i))
            out.append(Problem(f, line, col, f"sequence: unknown selection {name!r}"))
    if (rule.within or rule.gap) and not rule.sequence:
        key = "within" if rule.within else "gap"
        line, col = _at(rule, (key,), key=True)
        out.append(Problem(f, line, col, f"{key}: only meaningful with `sequence`"))
    if rule.gap:
        try:
            Compiler({"gap"}, dtypes={"gap": "Float64"}).compile("gap " + rule.gap)
        except ConditionError as exc:
            exc.offset = max(0, exc.offset - 4)
            out.append(_cond_problem(rule, ("gap",), exc))
    for i, key in enumerate(rule.group_by):
        if cols is not None and key not in cols:
            line, col = _at(rule, ("group_by", i))
            out.append(Problem(f, line, col, f"group_by: unknown column {key!r}"))
    aggregates: list = []
    if rule.having is not None:
        if not rule.group_by:
            line, col = _at(rule, ("having",), key=True)
            out.append(Problem(f, line, col, "having: needs `group_by`"))
        try:
            aggs_of = None if cols is None else cols | set(rule.where)  # selections too
            comp = Compiler(set(rule.group_by), having=True, agg_columns=aggs_of, dtypes=dtypes)
            comp.compile(rule.having)
            aggregates = comp.aggregates
        except ConditionError as exc:
            out.append(_cond_problem(rule, ("having",), exc))
    for i, c in enumerate(rule.evidence):
        if cols is not None and c not in cols:
            line, col = _at(rule, ("evidence", i))
            out.append(Problem(f, line, col, f"evidence: unknown column {c!r}"))
    for i, corr in enumerate(rule.correlate):
        cdtypes = table_dtypes(corr["table"])
        ccols = None if cdtypes is None else set(cdtypes)
        if ccols is None:
            line, col = _at(rule, ("correlate", i, "table"))
            out.append(Problem(f, line, col, f"correlate: unknown table {corr['table']!r}"))
        for mine, theirs in corr["on"].items():
            if cols is not None and mine not in cols:
                line, col = _at(rule, ("correlate", i, "on", mine), key=True)
                out.append(Problem(f, line, col, f"correlate.on: unknown column {mine!r} in {rule.source}"))  # fmt: skip
            if ccols is not None and theirs not in ccols:
                line, col = _at(rule, ("correlate", i, "on", mine))
                out.append(Problem(f, line, col, f"correlate.on: unknown column {theirs!r} in {corr['table']}"))  # fmt: skip
        if corr.get("where"):
            try:
                Compiler(ccols, dtypes=cdtypes).compile(corr["where"])
            except ConditionError as exc:
                out.append(_cond_problem(rule, ("correlate", i, "where"), exc))
    out += _check_message(rule, cols, aggregates)
    if check_examples:
        for which in ("match", "nomatch"):
            for i, ex in enumerate(rule.examples.get(which, [])):
                if not resolve_example(rule.path, ex).is_file():
                    line, col = _at(rule, ("examples", which, i))
                    out.append(Problem(f, line, col, f"examples.{which}: no such file {ex!r}"))
    return out


def placeholders(message: str) -> list[tuple[int, str]]:
    """(offset, name) of every ``{name}`` in a message template."""
    return [(m.start(1), m.group(1).strip()) for m in PLACEHOLDER.finditer(message)]


def _check_message(rule: Rule, cols: set[str] | None, aggregates: list) -> list[Problem]:
    out = []
    for offset, name in placeholders(rule.message):
        ok = True
        why = "unknown placeholder"
        m = AGG_PLACEHOLDER.match(name)
        if name in ("count",) and rule.group_by:
            ok = True
        elif m and rule.group_by:
            ok = (
                m.group(1) in AGGREGATES
                and m.group(1) != "count"
                and (cols is None or m.group(2) in cols or m.group(2) in rule.where)
            )
        elif m:
            ok, why = False, "aggregate placeholder without `group_by`"
        elif not re.fullmatch(r"\w+", name):
            ok = False
        else:
            ok = cols is None or name in cols or name in ("rule_id", "level", "title")
        if not ok:
            node = rule.doc.nodes.get(("message",)) if rule.doc else None
            loc = (
                yamlpos.offset_loc(node, str(node.value), offset - 1, rule.doc.text)
                if node is not None
                else yamlpos.Loc(1, 1)
            )
            out.append(Problem(rule.file, loc.line, loc.col, f"message: {why} {{{name}}}"))
    return out


def lint(dirs=None, with_bundled: bool = True, check_examples: bool = True) -> list[Problem]:
    """Every problem in the rules: schema, syntax, columns, placeholders, duplicates,
    examples. Lints ``dirs`` when given, else the bundled rules."""
    from zdiag.resources import rules_dir

    if isinstance(dirs, str | Path):
        dirs = [dirs]
    folders = [Path(d) for d in dirs] if dirs else ([rules_dir()] if with_bundled else [])
    rules, problems = _load_dir_set(folders, bundled=False)
    for rule in rules.values():
        problems += check_rule(rule, check_examples=check_examples)
    return sorted(problems, key=lambda p: (p.file, p.line, p.col))
