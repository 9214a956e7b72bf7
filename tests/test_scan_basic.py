"""`zdiag scan` and `zdiag.scan` on real-layout fixtures: findings, JSON, exit codes."""

from __future__ import annotations

import json

from click.testing import CliRunner

import zdiag
from zdiag.cli import main
from zdiag.tables import SCHEMAS

RESET = "fixtures/rules/tcp-outbound-reset-after-retransmissions/reset_after_retrans.txt"
HEALTHY = "fixtures/rules/tcp-outbound-reset-after-retransmissions/healthy_zero_window.txt"


def test_scan_library_finds_reset(root):
    res = zdiag.scan([root / RESET])
    f = res.findings
    assert list(f.columns) == list(SCHEMAS["findings"])
    hit = f[f["rule_id"] == "tcp-outbound-reset-after-retransmissions"]
    assert len(hit) == 1
    assert hit["line"].iloc[0] == 11  # first retransmission row of the fixture
    assert hit["lines"].iloc[0] == [11, 12, 13, 14, 15, 16]
    # grouped per file and connection: one trace given twice (text and pcap) counts twice
    assert hit["key"].iloc[0].startswith("source=") and hit["key"].iloc[0].endswith(" conn=table1")
    assert res.exit_code("high") == 1
    assert res.exit_code("critical") == 0


def test_scan_cli_exit_codes_and_json(root, tmp_path):
    runner = CliRunner()
    out = tmp_path / "f.json"
    r = runner.invoke(main, ["scan", str(root / RESET), "--json", str(out)])
    assert r.exit_code == 1, r.output
    data = json.loads(out.read_text())
    assert [x["rule_id"] for x in data["findings"]] == ["tcp-outbound-reset-after-retransmissions"]
    r = runner.invoke(main, ["scan", str(root / HEALTHY)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["scan", str(root / RESET), "--fail-on", "critical"])
    assert r.exit_code == 0
    empty = tmp_path / "empty.txt"
    empty.write_text("nothing zdiag knows\n")
    r = runner.invoke(main, ["scan", str(empty)])
    assert r.exit_code == 3
    outs = {k: tmp_path / f"r.{k}" for k in ("xlsx", "sarif", "junit", "json")}
    r = runner.invoke(main, ["scan", str(root / RESET), "--tables", str(tmp_path / "t")]
                      + [a for k, p in outs.items() for a in (f"--{k}", str(p))])  # fmt: skip
    assert r.exit_code == 1, r.output
    assert all(p.stat().st_size > 0 for p in outs.values())
    assert (tmp_path / "t" / "packets.parquet").exists()
    assert (tmp_path / "t" / "findings.parquet").exists()


SITE_OVERRIDE = """\
id: tcp-outbound-reset-after-retransmissions
title: Site variant of the reset rule
level: critical
source: packets
condition: rst and direction == "out"
message: "site: reset on {conn}"
examples:
  match: [fixtures/rules/tcp-outbound-reset-after-retransmissions/reset_after_retrans.txt]
  nomatch: [fixtures/rules/tcp-outbound-reset-after-retransmissions/healthy_zero_window.txt]
"""


def test_site_rule_overrides_bundled_and_says_so(root, tmp_path):
    (tmp_path / "site.yaml").write_text(SITE_OVERRIDE, encoding="utf-8")
    res = zdiag.scan([root / RESET], rules=[tmp_path])
    hit = res.findings[res.findings["rule_id"] == "tcp-outbound-reset-after-retransmissions"]
    assert hit["message"].tolist() == ["site: reset on table1"]
    assert hit["level"].tolist() == ["critical"]
    assert [o["id"] for o in res.overrides] == ["tcp-outbound-reset-after-retransmissions"]
    r = CliRunner().invoke(main, ["scan", str(root / RESET), "--rules", str(tmp_path)])
    assert r.exit_code == 1
    assert (
        f"rule tcp-outbound-reset-after-retransmissions: site rule {tmp_path / 'site.yaml'} "
        "overrides " in r.output
    )
    r = CliRunner().invoke(main, ["rules", "list", "--rules", str(tmp_path)])
    assert "Site variant of the reset rule (site, overrides bundled)" in r.output


def test_json_to_stdout_and_level_filter(root):
    r = CliRunner().invoke(main, ["-q", "scan", str(root / RESET), "--json", "-"])
    assert r.exit_code == 1
    data = json.loads(r.stdout)
    assert data["version"] == zdiag.__version__
    assert data["files"][0]["kind"] == "systcpda.session"
    assert data["findings"][0]["evidence"][0] == {
        "table": "packets", "source": str(root / RESET), "line": 11
    }  # fmt: skip
    r = CliRunner().invoke(main, ["scan", str(root / RESET), "--level", "critical"])
    assert "no findings" in r.output and r.exit_code == 1  # shown ≠ fail-on


def test_runtime_rule_error_is_recorded_not_fatal(root, tmp_path):
    (tmp_path / "odd.yaml").write_text(
        "id: needs-extra-column\ntitle: t\nlevel: low\nsource: packets\n"
        'condition: extra_col == 1\nmessage: "x"\n',
        encoding="utf-8",
    )
    rules = zdiag.load_rules([tmp_path], with_bundled=True)
    res = zdiag.scan([root / RESET], rules=rules)
    assert [(e.rule_id, e.message) for e in res.rule_errors] == [
        ("needs-extra-column", "unknown column or selection 'extra_col'")
    ]
    assert "tcp-outbound-reset-after-retransmissions" in set(res.findings["rule_id"])
    r = CliRunner().invoke(main, ["scan", str(root / RESET), "--rules", str(tmp_path)])
    assert r.exit_code == 1  # the other rules still ran and found the reset
    assert "RULE ERROR" in r.output and "needs-extra-column" in r.output


def test_rules_list_and_show():
    r = CliRunner().invoke(main, ["rules", "list"])
    assert r.exit_code == 0
    ids = [line.split()[0] for line in r.output.splitlines()]
    assert "tcp-syn-ack-retransmitted" in ids and ids == sorted(ids)
    r = CliRunner().invoke(main, ["rules", "show", "tcp-syn-ack-retransmitted"])
    assert r.exit_code == 0 and "id: tcp-syn-ack-retransmitted" in r.output
    r = CliRunner().invoke(main, ["rules", "show", "no-such-rule"])
    assert r.exit_code == 2 and "no rule 'no-such-rule'" in r.output


def test_rules_test_reports_a_failing_example(tmp_path, root):
    rule = SITE_OVERRIDE.replace("healthy_zero_window.txt", "reset_after_retrans.txt")
    rule = rule.replace(
        "fixtures/rules/", str(root / "fixtures/rules") + "/"
    )  # absolute example paths work too
    (tmp_path / "r.yaml").write_text(rule, encoding="utf-8")
    r = CliRunner().invoke(main, ["rules", "test", str(tmp_path)])
    assert r.exit_code == 1
    assert "FAIL tcp-outbound-reset-after-retransmissions nomatch" in r.output
    assert "1 passed, 1 failed" in r.output


def test_fail_on_never_reports_but_exits_0(root, tmp_path):
    j = tmp_path / "r.junit"
    r = CliRunner().invoke(main, ["scan", str(root / RESET), "--fail-on", "never",
                                  "--junit", str(j)])  # fmt: skip
    assert r.exit_code == 0 and "tcp-outbound-reset-after-retransmissions" in r.output
    assert "<failure" not in j.read_text()
