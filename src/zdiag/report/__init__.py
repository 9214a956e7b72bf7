"""Reporters: terminal, xlsx, sarif, junit, json — one module each.

:func:`write_reports` is the one dispatcher the CLI and batch call; each format lives in its
own module.
"""

from __future__ import annotations


def rules_meta(rules) -> list[dict]:
    """What the reporters need to know of each rule, as plain values."""
    return [
        {"id": r.id, "title": r.title, "level": r.level, "description": r.description,
         "remedy": r.remedy, "references": list(r.references)}
        for r in rules
    ]  # fmt: skip


def write_reports(result, xlsx=None, sarif=None, junit=None, json=None, tables_dir=None,
                  fail_on: str = "high") -> None:  # fmt: skip
    """Write every report asked for (None: not asked) for one ScanResult.

    ``tables_dir`` writes every table as parquet there, and adds one sheet per table to the
    workbook.
    """
    meta = rules_meta(result.rules)
    if tables_dir:
        from zdiag.report.tables_dir import write_tables_dir

        write_tables_dir(result.tables, result.findings, tables_dir)
    if xlsx:
        from zdiag.report.xlsx import write_xlsx

        write_xlsx(xlsx, result.tables, result.findings, meta, with_tables=bool(tables_dir))
    if sarif:
        from zdiag.report.sarif import write_sarif

        write_sarif(sarif, result.findings, meta, result.tables)
    if junit:
        from zdiag.report.junit import write_junit

        write_junit(junit, result.findings, meta, result.tables["files"], fail_on)
    if json:
        from zdiag.report.json_report import write_json

        write_json(result, json)
