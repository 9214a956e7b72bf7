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
    assert hit["key"].iloc[0] == "conn=table1"
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
    r = runner.invoke(main, ["scan", str(root / RESET), "--xlsx", str(tmp_path / "x.xlsx")])
    assert r.exit_code == 2 and "--xlsx is not available yet" in r.output


def test_rules_test_command_passes():
    r = CliRunner().invoke(main, ["rules", "test"])
    assert r.exit_code == 0, r.output
    assert "PASS tcp-outbound-reset-after-retransmissions match" in r.output
