"""``zdiag rules test``: run every rule's embedded examples through the real pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from zdiag.rules.model import Rule, _load_dir_set, resolve_example
from zdiag.rules.scan import scan


@dataclass
class Outcome:
    rule_id: str
    which: str  # match | nomatch
    example: str
    findings: int
    ok: bool
    detail: str = ""

    def __str__(self) -> str:
        status = "PASS" if self.ok else "FAIL"
        return f"{status} {self.rule_id} {self.which} {self.example}: {self.findings} finding(s){self.detail}"


def run_rule_examples(rule: Rule) -> list[Outcome]:
    out = []
    for which in ("match", "nomatch"):
        for ex in rule.examples.get(which, []):
            path = resolve_example(rule.path, ex)
            if not Path(path).is_file():
                out.append(Outcome(rule.id, which, ex, 0, False, " (no such file)"))
                continue
            res = scan([path], rules=[rule])
            n = int((res.findings["rule_id"] == rule.id).sum())
            detail = ""
            if res.rule_errors:
                detail = " (rule error: " + "; ".join(e.message for e in res.rule_errors) + ")"
            files = res.tables["files"]
            if len(files) and files["error"].notna().any():
                detail += f" (input error: {files['error'].dropna().iloc[0]})"
            ok = not res.rule_errors and ((n >= 1) if which == "match" else (n == 0))
            out.append(Outcome(rule.id, which, ex, n, ok, detail))
    return out


def run_examples(dirs=None) -> list[Outcome]:
    """Outcomes for every example of every rule in ``dirs`` (default: bundled rules)."""
    from zdiag.resources import rules_dir
    from zdiag.rules.model import RuleLoadError

    folders = [Path(d) for d in dirs] if dirs else [rules_dir()]
    rules, problems = _load_dir_set(folders, bundled=False)
    if problems:
        raise RuleLoadError(problems)
    out = []
    for rule in rules.values():
        out += run_rule_examples(rule)
    return out
