"""A panic inside polars reaches Python as pyo3's PanicException, a BaseException that an
``except Exception`` lets through: it must fail the one file (or rule) it happened in, as a
parser bug does, and let the others go on."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
from polars.exceptions import PanicException

import zdiag
from zdiag.kinds import registry
from zdiag.rules import engine, load_rules

ROOT = Path(__file__).resolve().parents[1]
FTP = ROOT / "fixtures" / "demo" / "ftp.data"
SESSION = ROOT / "fixtures" / "demo" / "session_detail_reset.txt"


def _panics(*_args, **_kw):
    raise PanicException("invalid or out-of-range datetime")


def test_a_parser_panic_fails_its_file_only(monkeypatch):
    kind = registry.get("config.ftpdata")
    monkeypatch.setitem(registry._KINDS, kind.name, replace(kind, parse=_panics))
    ts = zdiag.parse([FTP, SESSION])
    files = ts["files"].set_index("kind")
    assert "PanicException" in files.loc["config.ftpdata", "error"]
    assert pd.isna(files.loc["systcpda.session", "error"]) and len(ts["packets"]) > 0


def test_a_rule_panic_is_a_rule_error(monkeypatch):
    rules = load_rules().rules
    tables = zdiag.parse([SESSION])
    real = engine.run_rule
    victim = rules[0].id
    monkeypatch.setattr(engine, "run_rule",
                        lambda rule, ctx: _panics() if rule.id == victim else real(rule, ctx))  # fmt: skip
    findings, errors = engine.run_rules(rules, tables)
    assert [e.rule_id for e in errors] == [victim] and "PanicException" in errors[0].message


def test_a_panic_outside_any_file_or_rule_is_exit_code_4(monkeypatch):
    """Not exit code 1 (Python's for an uncaught exception, zdiag's for findings)."""
    from click.testing import CliRunner

    from zdiag import cli

    monkeypatch.setattr(cli, "write_tables", _panics)
    res = CliRunner().invoke(cli.main, ["parse", str(FTP)])
    assert res.exit_code == cli.EXIT_BUG
    assert "internal error: PanicException" in res.output
