"""Rules: the YAML model and lint (model.py), the condition compiler (condition.py), the
engine (engine.py) and ``scan`` (scan.py)."""

from zdiag.rules.model import LEVELS, Problem, Rule, RuleLoadError, RuleSet, lint, load_rules
from zdiag.rules.scan import ScanResult, scan, scan_tables

__all__ = [
    "LEVELS", "Problem", "Rule", "RuleLoadError", "RuleSet", "ScanResult", "lint",
    "load_rules", "scan", "scan_tables",
]  # fmt: skip
