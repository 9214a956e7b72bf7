"""SARIF 2.1.0: valid against the official schema, and saying what SPEC §6 asks."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
from test_report_xlsx import SYSLOG, rich_sample
from tools.report_sample import TRACE

from zdiag.report.sarif import LEVEL_MAP, artifact_uri, build_sarif, write_sarif
from zdiag.tables import TableSet, conform

SCHEMA_PATH = Path(__file__).with_name("sarif-schema-2.1.0.json")


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert hashlib.sha256(SCHEMA_PATH.read_bytes()).hexdigest().startswith("c3b4bb2d")
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    tables, findings, rules = rich_sample()
    path = tmp_path_factory.mktemp("s") / "findings.sarif"
    write_sarif(path, findings, rules, tables)
    return json.loads(path.read_text(encoding="utf-8")), tables, findings, rules


def test_valid_against_the_official_schema(validator, log):
    doc = log[0]
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    assert doc["version"] == "2.1.0" and len(doc["runs"]) == 1


def test_the_validator_is_not_a_rubber_stamp(validator, log):
    bad = json.loads(json.dumps(log[0]))
    bad["runs"][0]["results"][0]["level"] = "critical"  # not a SARIF level
    del bad["runs"][0]["tool"]["driver"]["name"]
    assert len(list(validator.iter_errors(bad))) >= 2


def test_one_rule_per_rule_with_mapped_levels(log):
    doc, _, findings, rules = log
    driver = doc["runs"][0]["tool"]["driver"]
    ids = [r["id"] for r in driver["rules"]]
    # every rule given, plus rules that only appear in findings (the synthetic ones)
    assert ids[: len(rules)] == [r["id"] for r in rules]
    assert set(findings["rule_id"]) <= set(ids) and len(ids) == len(set(ids))
    by_id = {r["id"]: r for r in driver["rules"]}
    crit = by_id["tcp-retransmit-then-local-reset"]
    assert crit["name"] == "TcpRetransmitThenLocalReset"
    assert crit["shortDescription"]["text"].startswith("Outbound data retransmitted")
    assert "firewall" in crit["help"]["text"] and "RFC 6298" in crit["help"]["text"]
    assert crit["defaultConfiguration"]["level"] == "error"
    for meta in rules:
        assert by_id[meta["id"]]["defaultConfiguration"]["level"] == LEVEL_MAP[meta["level"]]
    assert LEVEL_MAP == {"critical": "error", "high": "error", "medium": "warning",
                         "low": "note", "info": "note"}  # fmt: skip


def test_one_result_per_finding_with_every_evidence_line(log):
    doc, _, findings, _ = log
    run = doc["runs"][0]
    results = run["results"]
    assert len(results) == len(findings)
    rules = run["tool"]["driver"]["rules"]
    for res in results:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
    crit = next(r for r in results if r["ruleId"] == "tcp-retransmit-then-local-reset")
    assert crit["level"] == "error" and crit["properties"]["level"] == "critical"
    locs = [loc["physicalLocation"] for loc in crit["locations"]]
    assert [p["region"]["startLine"] for p in locs] == [8, 11, 12, 13, 14, 15, 16]
    assert {p["artifactLocation"]["uri"] for p in locs} == {TRACE}
    idx = locs[0]["artifactLocation"]["index"]
    assert run["artifacts"][idx]["location"]["uri"] == TRACE
    # evidence from two files and two tables, including a row no table holds
    mixed = next(r for r in results if r["ruleId"] == "=cmd|' /C calc'!A0")
    got = [(loc["physicalLocation"]["artifactLocation"]["uri"],
            loc["physicalLocation"]["region"]["startLine"]) for loc in mixed["locations"]]  # fmt: skip
    assert got == [(SYSLOG, 2), (SYSLOG, 3), (TRACE, 5), (SYSLOG, 99)]
    assert mixed["message"]["text"] == '=HYPERLINK("http://evil.example/","x")'
    # no evidence: the finding's own source (no line) still gives a location
    none = next(r for r in results if r["ruleId"] == "no-evidence-rule")
    assert none["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == SYSLOG
    assert "region" not in none["locations"][0]["physicalLocation"]
    fps = [r["partialFingerprints"]["zdiagFinding/v1"] for r in results]
    assert len(set(fps)) == len(fps)


def test_artifacts_and_notifications(log):
    doc, tables, *_ = log
    run = doc["runs"][0]
    arts = {a["location"]["uri"]: a for a in run["artifacts"]}
    assert set(arts) == {TRACE, SYSLOG}
    files = tables["files"].set_index("source")
    assert arts[TRACE]["hashes"]["sha-256"] == files.loc[TRACE, "sha256"]
    assert arts[TRACE]["length"] == files.loc[TRACE, "bytes"]
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["level"] for n in notes] == ["warning"]  # SYSLOG has unrecognised lines
    assert "15 unrecognised lines" in notes[0]["message"]["text"]


def test_file_error_becomes_an_error_notification(validator):
    files = conform("files", pd.DataFrame({"case": [""], "source": ["bad.txt"], "kind": [""],
                                           "error": ["not text (binary)"], "error_line": [3]}))  # fmt: skip
    doc = build_sarif(conform("findings", pd.DataFrame()), [], TableSet({"files": files}))
    assert not list(validator.iter_errors(doc))
    note = doc["runs"][0]["invocations"][0]["toolExecutionNotifications"][0]
    assert note["level"] == "error"
    assert note["locations"][0]["physicalLocation"]["region"] == {"startLine": 3}
    assert doc["runs"][0]["results"] == []


@pytest.mark.parametrize(
    "source, uri",
    [
        ("fixtures/demo/trace.txt", "fixtures/demo/trace.txt"),
        ("in box/a b.txt", "in%20box/a%20b.txt"),
        ("case.zip!dir/trace.txt", "case.zip!dir/trace.txt"),
        ("/abs/path/x.txt", "file:///abs/path/x.txt"),
        ("C:\\traces\\x.txt", "file:///C:/traces/x.txt"),
    ],
)
def test_artifact_uris(source, uri):
    assert artifact_uri(source) == uri


def test_write_to_stdout(capsys):
    _, findings, rules = rich_sample()
    assert write_sarif("-", findings, rules) is None
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["runs"][0]["results"]) == len(findings)
