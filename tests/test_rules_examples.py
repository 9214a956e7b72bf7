"""Every bundled rule's embedded examples, run through the real pipeline exactly as
`zdiag rules test` does; and the meta-test that every rule has both kinds of example."""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest

from zdiag.rules.engine import run_rule
from zdiag.rules.model import load_rules
from zdiag.rules.testing import run_rule_examples
from zdiag.tables import TableSet, conform

RULES = load_rules(with_bundled=True).rules


def test_some_rules_are_bundled():
    assert len(RULES) >= 3


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_has_match_and_nomatch_examples(rule):
    assert rule.examples.get("match"), f"{rule.file}: no examples.match"
    assert rule.examples.get("nomatch"), f"{rule.file}: no examples.nomatch"
    assert all("fixtures/rules/" in e for e in rule.examples["match"] + rule.examples["nomatch"])


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_examples(rule):
    outcomes = run_rule_examples(rule)
    assert outcomes
    failed = [str(o) for o in outcomes if not o.ok]
    assert not failed, failed


FTP_RULE = textwrap.dedent("""\
    id: ftp-datacttime-below-default
    title: FTP.DATA DATACTTIME is below the 300-second default
    level: medium
    source: config
    where:
      datacttime: kind == "ftpdata" and statement == "DATACTTIME"
    condition: datacttime and value_num < 5m
    message: "DATACTTIME {value} is below 300 seconds"
""")


def test_config_rule_on_a_config_table(tmp_path):
    """The config.ftpdata kind is another helper's; the rule runs on the table it will make."""
    (tmp_path / "r.yaml").write_text(FTP_RULE, encoding="utf-8")
    rule = load_rules([tmp_path], with_bundled=False).rules[0]
    config = conform(
        "config",
        pd.DataFrame(
            {
                "case": [""] * 4,
                "source": ["a.ftpdata"] * 3 + ["b.ftpdata"],
                "line": [4, 5, 6, 9],
                "kind": ["ftpdata"] * 4,
                "statement": ["DATACTTIME", "DCONNTIME", "INACTIVE", "DATACTTIME"],
                "value": ["60", "60", "60", "300"],
                "value_num": [60.0, 60.0, 60.0, 300.0],
            }
        ),  # fmt: skip
    )
    f = run_rule(rule, TableSet({"config": config}))
    assert f[["source", "line", "message"]].values.tolist() == [
        ["a.ftpdata", 4, "DATACTTIME 60 is below 300 seconds"]
    ]
