"""Imported once by the forkserver of ``zdiag.batch.isolate``: every case child is forked
from a process that has already imported zdiag and compiled its grammars, so a case pays
neither. Nothing here may *run* polars (its thread pool does not survive a fork); importing
it is fine. Failures are ignored: they only cost the children time.
"""

from __future__ import annotations

import importlib


def _warm() -> None:
    try:
        import openpyxl  # noqa: F401

        import zdiag.pipeline  # noqa: F401
        import zdiag.report  # noqa: F401
        import zdiag.report.json_report  # noqa: F401
        from zdiag import grammar, resources  # noqa: F401
        from zdiag.kinds import registry
        from zdiag.rules import condition, load_rules

        for name in ("xlsx", "sarif", "tables_dir", "junit"):  # the writers, where present
            try:
                importlib.import_module(f"zdiag.report.{name}")
            except ImportError:
                pass
        registry.all_kinds()  # imports every kind module (and polars: import only)
        condition.parser()
        ruleset = load_rules()
    except Exception:  # noqa: BLE001 - best effort
        return
    try:
        # pandas' first calls (dtype registries, string arrays, groupby) cost a fresh process
        # more than a small case does; run them once here on empty tables (pandas only).
        import pandas as pd

        from zdiag.pipeline import collect
        from zdiag.report.json_report import report_dict
        from zdiag.rules.scan import scan_tables
        from zdiag.tables import SCHEMAS, conform

        for name in SCHEMAS:
            conform(name, pd.DataFrame())
        report_dict(scan_tables(collect([]), ruleset))
    except Exception:  # noqa: BLE001 - best effort
        return
    try:
        for path in sorted(grammar.grammar_path("condition").parent.glob("*.lark")):
            if path.stem != "condition":
                grammar._grammar_parts(path.stem)
    except Exception:  # noqa: BLE001 - best effort
        pass


_warm()
