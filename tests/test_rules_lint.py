"""`zdiag rules lint`: broken rules, each with its exact ``file:line:col: message``."""

from __future__ import annotations

import textwrap

import pytest
from click.testing import CliRunner

from zdiag import tables
from zdiag.cli import main
from zdiag.rules.model import lint, load_rules

#: the tables a rule may read: every schema but the run's own bookkeeping
KNOWN_TABLES = ", ".join(sorted(t for t in tables.SCHEMAS if t not in ("files", "findings")))

GOOD = """\
id: broken-x
title: Broken
level: high
source: connections
condition: state == "FIN_WAIT_1"
message: "{local_ip} stuck"
"""

LEVELS = "info, low, medium, high, critical"

# name -> (rule text, [(line, col, message), ...])
CASES = {
    "unknown_key": (GOOD + "severity: high\n", [(7, 1, "unknown key 'severity'")]),
    "bad_level": (
        GOOD.replace("level: high", "level: urgent"),
        [(3, 8, f"level: 'urgent' is not one of {LEVELS}")],
    ),
    "bad_id": (
        GOOD.replace("id: broken-x", "id: Broken_X"),
        [(1, 5, "id: 'Broken_X' is not valid (kebab-case: lower-case words joined by '-')")],
    ),
    "missing_title": (
        GOOD.replace("title: Broken\n", ""),
        [(1, 1, "missing required key 'title'")],
    ),
    "no_condition": (
        GOOD.replace('condition: state == "FIN_WAIT_1"\n', ""),
        [(1, 1, "a rule needs `condition` or `sequence`")],
    ),
    "condition_syntax": (
        GOOD.replace('state == "FIN_WAIT_1"', 'state = "FIN_WAIT_1"'),
        [(5, 18, "condition: unexpected character '='")],
    ),
    "condition_ends_early": (
        GOOD.replace('state == "FIN_WAIT_1"', 'state == "FIN_WAIT_1" and'),
        [
            (
                5,
                37,
                "condition: condition ends too early; expected '(', '-', 'false', 'not', "
                "'null', 'true', a duration, a name, a number, a string",
            )
        ],
    ),  # fmt: skip
    "unknown_column_in_where": (
        GOOD.replace(
            'condition: state == "FIN_WAIT_1"',
            'where:\n  stuck: staet == "FIN_WAIT_1"\ncondition: stuck',
        ),
        [(6, 10, "where.stuck: unknown column or selection 'staet'")],
    ),
    "unknown_placeholder": (
        GOOD.replace('"{local_ip} stuck"', '"{local_ip} stuck {nope}"'),
        [(6, 28, "message: unknown placeholder {nope}")],
    ),
    "aggregate_placeholder_without_group": (
        GOOD.replace('"{local_ip} stuck"', '"{local_ip} {max(send_q)}"'),
        [(6, 22, "message: aggregate placeholder without `group_by` {max(send_q)}")],
    ),
    "unknown_source_table": (
        GOOD.replace("source: connections", "source: conections"),
        [
            (
                4,
                9,
                "source: unknown table 'conections'; known: " + KNOWN_TABLES,
            )
        ],
    ),  # fmt: skip
    "yaml_syntax": (
        GOOD.replace("title: Broken", "title: [Broken"),
        [(3, 6, "YAML syntax error: expected ',' or ']', but got ':'")],
    ),
    "duplicate_key": (GOOD + "level: low\n", [(7, 1, "duplicate key 'level'")]),
    "sequence_unknown_selection": (
        GOOD.replace(
            'condition: state == "FIN_WAIT_1"', "where:\n  a: rst\nsequence: [a, b+]"
        ).replace("connections", "packets"),
        [(7, 15, "sequence: unknown selection 'b'")],
    ),
    "having_unknown_aggregate_column": (
        GOOD + "group_by: [local_ip]\nhaving: sum(bytez) > 1\n",
        [(8, 13, "having: unknown column 'bytez'")],
    ),
    "having_non_key_column": (
        GOOD + "group_by: [local_ip]\nhaving: send_q > 1\n",
        [(8, 9, "having: unknown group key 'send_q'")],
    ),
    "having_without_group_by": (
        GOOD + "having: count > 1\n",
        [(7, 1, "having: needs `group_by`")],
    ),
    "bad_regex": (
        GOOD.replace('state == "FIN_WAIT_1"', 'state matches "FIN(_WAIT"'),
        [(5, 26, "condition: invalid regex for RE2: missing ): FIN(_WAIT")],
    ),
    "null_comparison": (
        GOOD.replace('state == "FIN_WAIT_1"', "state != null"),
        [
            (
                5,
                21,
                "condition: a comparison with null is always false; use `is null` / `is not null`",
            )
        ],
    ),  # fmt: skip
    "group_by_not_a_list": (
        GOOD + "group_by: local_ip\n",
        [(7, 11, "group_by: expected array, got text")],
    ),
    "unknown_group_by_column": (
        GOOD + "group_by: [local_ip, lokal_port]\n",
        [(7, 22, "group_by: unknown column 'lokal_port'")],
    ),
    "correlate_unknown_table_and_column": (
        GOOD + "correlate:\n  - table: packet\n    on: {local_port: local_prot}\n"
        "  - table: packets\n    on: {local_port: local_prot}\n",
        [
            (8, 12, "correlate: unknown table 'packet'"),
            (11, 22, "correlate.on: unknown column 'local_prot' in packets"),
        ],
    ),  # fmt: skip
    "example_missing": (
        GOOD + "examples:\n  match: [fixtures/rules/none/stuck.txt]\n",
        [(8, 11, "examples.match: no such file 'fixtures/rules/none/stuck.txt'")],
    ),
    "block_scalar_condition": (
        GOOD.replace(
            'condition: state == "FIN_WAIT_1"',
            'condition: |\n  state == "FIN_WAIT_1"\n    and smc != "" and tttls',
        ),
        [(7, 23, "condition: unknown column or selection 'tttls'")],
    ),
    "folded_plain_condition": (
        GOOD.replace(
            'condition: state == "FIN_WAIT_1"',
            'condition: state == "FIN_WAIT_1"\n  and smc != "" and tttls',
        ),
        [(6, 21, "condition: unknown column or selection 'tttls'")],
    ),
    "type_mismatch": (
        GOOD.replace('state == "FIN_WAIT_1"', 'state == "FIN_WAIT_1" and send_q > "10"'),
        [(5, 38, "condition: cannot compare number with text")],
    ),
    "gap_without_sequence": (
        GOOD + "gap: '> 60s'\n",
        [(7, 1, "gap: only meaningful with `sequence`")],
    ),
    "bad_within": (
        GOOD + "within: 90 seconds\n",
        [(7, 9, "within: '90 seconds' is not valid")],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_broken_rule_reports_exact_position(tmp_path, name):
    text, want = CASES[name]
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    got = [str(p) for p in lint([tmp_path])]
    assert got == [f"{path}:{line}:{col}: {msg}" for line, col, msg in want]


def test_duplicate_ids_across_files(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(GOOD, encoding="utf-8")
    got = [str(p) for p in lint([tmp_path])]
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    assert got == [f"{b}:1:5: duplicate rule id 'broken-x' (first in {a}:1:5)"]


def test_good_rule_lints_clean(tmp_path):
    (tmp_path / "ok.yaml").write_text(GOOD, encoding="utf-8")
    assert lint([tmp_path]) == []


def test_bundled_rules_lint_clean():
    assert [str(p) for p in lint()] == []


def test_lint_cli_prints_positions_and_exits_1(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(CASES["bad_level"][0], encoding="utf-8")
    r = CliRunner().invoke(main, ["rules", "lint", str(tmp_path)])
    assert r.exit_code == 1
    assert f"{path}:3:8: level: 'urgent' is not one of {LEVELS}" in r.output
    r = CliRunner().invoke(main, ["rules", "lint"])
    assert r.exit_code == 0, r.output


def test_scan_refuses_broken_site_rules_with_usage_error(tmp_path, root):
    (tmp_path / "bad.yaml").write_text(CASES["unknown_key"][0], encoding="utf-8")
    fixture = root / "fixtures/rules/tcp-outbound-reset-after-retransmissions"
    r = CliRunner().invoke(main, ["scan", str(fixture), "--rules", str(tmp_path)])
    assert r.exit_code == 2
    assert f"{tmp_path / 'bad.yaml'}:7:1: unknown key 'severity'" in r.output


def test_load_rules_site_override(tmp_path):
    bundled = load_rules()
    rid = "tcp-outbound-reset-after-retransmissions"
    site = textwrap.dedent(f"""\
        id: {rid}
        title: Site version
        level: low
        source: packets
        condition: rst
        message: "site"
    """)
    (tmp_path / "mine.yaml").write_text(site, encoding="utf-8")
    rs = load_rules([tmp_path])
    assert len(rs) == len(bundled)
    assert rs.get(rid).title == "Site version"
    assert rs.overrides == [
        {"id": rid, "bundled": bundled.get(rid).file, "site": str(tmp_path / "mine.yaml")}
    ]
