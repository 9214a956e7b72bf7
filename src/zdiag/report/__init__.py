"""Reporters: terminal, xlsx, sarif, junit, json — one module each.

:func:`write_reports` is the one dispatcher the CLI and batch call; each format lives in its
own module.
"""

from __future__ import annotations


def _not_yet(option: str):
    import click

    raise click.UsageError(f"{option} is not available yet")


def write_reports(result, xlsx=None, sarif=None, junit=None, json=None, tables_dir=None,
                  fail_on: str = "high") -> None:  # fmt: skip
    """Write every report asked for (None: not asked) for one ScanResult."""
    for option, target in (("--xlsx", xlsx), ("--sarif", sarif), ("--junit", junit),
                           ("--tables", tables_dir)):  # fmt: skip
        if target:
            _not_yet(option)
    if json:
        from zdiag.report.json_report import write_json

        write_json(result, json)
