"""JUnit XML: parsed back with junitparser and with the standard library, counts checked."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pandas as pd
import pytest
from junitparser import Error, Failure, JUnitXml
from test_report_xlsx import SYSLOG, rich_sample
from tools.report_sample import TRACE

from zdiag.report.junit import at_or_above, write_junit, xml_text
from zdiag.tables import conform


@pytest.fixture(scope="module")
def sample_data():
    return rich_sample()


def write(tmp_path, sample_data, fail_on):
    tables, findings, rules = sample_data
    path = tmp_path / f"junit-{fail_on}.xml"
    write_junit(path, findings, rules, tables["files"], fail_on)
    return path, tables, findings, rules


def suites(path):
    return {s.name: s for s in JUnitXml.fromfile(str(path))}


@pytest.mark.parametrize(
    "fail_on, trace_failures, syslog_failures",
    [("critical", 1, 0), ("high", 2, 1), ("medium", 4, 1), ("low", 5, 2), ("info", 6, 3)],
)
def test_counts_per_fail_on(tmp_path, sample_data, fail_on, trace_failures, syslog_failures):
    path, tables, findings, rules = write(tmp_path, sample_data, fail_on)
    s = suites(path)
    assert list(s) == [TRACE, SYSLOG]  # a testsuite per file
    rule_ids = list(dict.fromkeys([r["id"] for r in rules] + list(findings["rule_id"])))
    for name, want in ((TRACE, trace_failures), (SYSLOG, syslog_failures)):
        suite = s[name]
        cases = list(suite)
        assert [c.name for c in cases] == rule_ids  # a testcase per rule
        assert suite.tests == len(rule_ids)
        failures = [r for c in cases for r in c.result if isinstance(r, Failure)]
        assert len(failures) == want  # a failure per finding at or above fail_on
        assert suite.failures == len(
            [c for c in cases if any(isinstance(r, Failure) for r in c.result)]
        )
        assert suite.errors == 0
    # the medium rule fired twice in the trace: two failures in one testcase
    if at_or_above("medium", fail_on):
        delta = next(c for c in s[TRACE] if c.name == "tcp-long-delta")
        assert len(delta.result) == 2 and {r.type for r in delta.result} == {"medium"}


def test_failure_text_and_escaping(tmp_path, sample_data):
    path, *_ = write(tmp_path, sample_data, "high")
    s = suites(path)
    case = next(c for c in s[SYSLOG] if c.name == "=cmd|' /C calc'!A0")
    (fail,) = case.result
    assert fail.message == '=HYPERLINK("http://evil.example/","x")'
    assert f"at {SYSLOG}:2" in fail.text and "remedy: -2+3" in fail.text
    assert case.classname == "logs.syslogd_txt"
    # standard library parser agrees, and attribute quoting survived
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites" and root.get("tests") == str(sum(s[n].tests for n in s))
    assert root.get("failures") == str(sum(s[n].failures for n in s))
    msgs = [f.get("message") for f in root.iter("failure")]
    assert '=HYPERLINK("http://evil.example/","x")' in msgs


def test_below_fail_on_goes_to_system_out(tmp_path, sample_data):
    path, *_ = write(tmp_path, sample_data, "critical")
    case = next(c for c in suites(path)[TRACE] if c.name == "tcp-long-delta")
    assert case.result == [] or all(not isinstance(r, Failure) for r in case.result)
    assert "72.8 s between packet 11" in case.system_out and "36.7 s" in case.system_out


def test_control_characters_and_file_errors(tmp_path):
    findings = conform("findings", pd.DataFrame([{
        "rule_id": "r1", "level": "critical", "title": "t", "case": "c1", "source": "a.txt",
        "line": 1, "lines": [1], "key": "k", "message": "bell\x07 nul\x00 esc\x1b <tag> & \"q\"",
        "remedy": "", "references": [], "evidence": [], "first_ts": None, "last_ts": None}]))  # fmt: skip
    files = conform("files", pd.DataFrame({
        "case": ["c1", "c1"], "source": ["a.txt", "bin.dat"], "kind": ["x", "unknown"],
        "error": [None, "binary content at line 3"], "error_line": [None, 3]}))  # fmt: skip
    path = tmp_path / "j.xml"
    write_junit(path, findings, [{"id": "r1", "title": "t", "level": "critical"}], files, "high")
    root = ET.parse(path).getroot()  # would raise on an illegal character
    s = suites(path)
    assert list(s) == ["c1:a.txt", "c1:bin.dat"]
    (fail,) = list(s["c1:a.txt"])[0].result
    assert fail.message == 'bell\\x07 nul\\x00 esc\\x1b <tag> & "q"'
    parse_case = list(s["c1:bin.dat"])[0]
    assert parse_case.name == "parse" and isinstance(parse_case.result[0], Error)
    assert s["c1:bin.dat"].errors == 1 and s["c1:bin.dat"].tests == 2
    assert root.get("errors") == "1"
    assert xml_text("\ud800x") == "\\xd800x"


def test_finding_for_a_file_not_in_files_gets_its_own_suite(tmp_path, sample_data):
    tables, findings, rules = sample_data
    path = tmp_path / "j.xml"
    write_junit(path, findings, rules, tables["files"].iloc[:1], "high")
    assert list(suites(path)) == [TRACE, SYSLOG]
