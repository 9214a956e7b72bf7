"""The terminal report: sorted by level, one accounting line per file, colour on a TTY only."""

from __future__ import annotations

import io

from test_report_xlsx import SYSLOG, rich_sample
from tools.report_sample import TRACE

from zdiag.report.terminal import print_report, render


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_sorted_by_level_then_accounting():
    tables, findings, _ = rich_sample()
    text = render(findings.sample(frac=1, random_state=1), tables["files"], width=200)
    lines = text.splitlines()
    assert lines[0].split() == ["LEVEL", "RULE", "WHERE", "MESSAGE"]
    levels = [ln.split()[0] for ln in lines[1 : 1 + len(findings)]]
    assert levels == ["critical", "high", "high", "medium", "medium", "low", "low", "info", "info"]
    assert lines[1 + len(findings)] == "9 findings: 1 critical, 2 high, 2 medium, 2 low, 2 info"
    acct = lines[-2:]
    assert (
        acct[0] == f"{TRACE}: systcpda.session (utf-8) lines=16 parsed=12 layout=4 unrecognised=0"
    )
    assert acct[1].startswith(f"{SYSLOG}: syslog.zos (cp1047) lines=20")
    assert f"{TRACE}:8" in text  # where = source:line
    assert "\x1b[" not in text


def test_colour_only_on_a_tty(monkeypatch):
    tables, findings, _ = rich_sample()
    monkeypatch.delenv("NO_COLOR", raising=False)
    plain, tty = io.StringIO(), Tty()
    print_report(findings, tables["files"], stream=plain)
    print_report(findings, tables["files"], stream=tty)
    assert "\x1b[" not in plain.getvalue()
    assert "\x1b[1;97;41mcritical\x1b[0m" in tty.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    again = Tty()
    print_report(findings, tables["files"], stream=again)
    assert "\x1b[" not in again.getvalue()


def test_min_level_narrow_width_and_control_characters():
    tables, findings, _ = rich_sample()
    findings.loc[0, "message"] = "evil\x1b[2J\rmessage"
    text = render(findings, None, width=80, min_level="high")
    lines = text.splitlines()
    assert all(len(ln) <= 80 for ln in lines)
    assert "\x1b" not in text and "\r" not in text
    assert lines[-1] == "3 findings: 1 critical, 2 high (6 below high not shown)"
    assert "…n_detail_reset_ex1.txt:8 " in text  # a path is cut from the left, line kept


def test_no_findings():
    tables, findings, _ = rich_sample()
    assert render(findings.iloc[:0], tables["files"]).startswith("no findings\n\n")
    assert render(None) == "no findings\n"
