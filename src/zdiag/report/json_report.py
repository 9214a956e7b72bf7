"""The JSON report: ``{"version", "files", "findings", "rule_errors", "overrides"}``."""

from __future__ import annotations

import json
import math

import pandas as pd


def _plain(v):
    """JSON-ready value: NA/NaT → None, timestamps ISO, numpy scalars → Python."""
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    if isinstance(v, pd.Timedelta):
        return v.total_seconds()
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def _records(df: pd.DataFrame) -> list[dict]:
    cols = {c: [_plain(v) for v in df[c].tolist()] for c in df.columns}
    return [dict(zip(cols, vals, strict=True)) for vals in zip(*cols.values(), strict=True)]


def report_dict(result) -> dict:
    from zdiag import __version__

    return {
        "version": __version__,
        "files": _records(result.tables.get_or_empty("files")),
        "findings": _records(result.findings),
        "rule_errors": [
            {"rule_id": e.rule_id, "file": e.file, "message": e.message} for e in result.rule_errors
        ],
        "overrides": list(result.overrides),
    }


def write_json(result, path: str) -> None:
    """Write the report to ``path``; ``-`` means standard output."""
    text = json.dumps(report_dict(result), indent=1, default=str) + "\n"
    if path == "-":
        import click

        click.echo(text, nl=False)
    else:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
