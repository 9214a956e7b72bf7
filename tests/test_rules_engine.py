"""The engine on tables built here: selections, group_by + having aggregates (with nulls),
message templates, sequences (+, within, gap), correlate, findings columns, rule errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from zdiag.rules.engine import RuleRuntimeError, run_rule, run_rules
from zdiag.rules.model import Rule
from zdiag.tables import SCHEMAS, TableSet, conform

T0 = pd.Timestamp("2024-03-01 10:00:00")


def rule(**kw) -> Rule:
    base = {"id": "t-rule", "title": "Test rule", "level": "high", "source": "connections",
            "message": "hit"}  # fmt: skip
    base.update(kw)
    return Rule.from_dict(base)


def connections() -> pd.DataFrame:
    secs = [0, 60, 180, 0, 30, 0, 90]
    df = pd.DataFrame(
        {
            "case": [""] * 7,
            "source": ["a.txt"] * 4 + ["b.txt"] * 3,
            "line": [10, 20, 30, 11, 5, 6, 7],
            "stack": ["TCPIP"] * 7,
            "snapshot_ts": [T0 + pd.Timedelta(seconds=s) for s in secs],
            "local_ip": ["10.1.1.1"] * 3 + ["10.1.1.2"] * 4,
            "local_port": [21, 21, 21, 1025, 1025, 23, 23],
            "remote_ip": ["10.9.9.9"] * 7,
            "remote_port": [5000, 5000, 5000, 5001, 5001, 5002, 5002],
            "state": ["FIN_WAIT_1"] * 5 + ["ESTABLISHED", "FIN_WAIT_1"],
            "state_raw": ["FinWt1"] * 5 + ["Establsh", "FinWt1"],
            "send_q": [100, None, 300, 7, 9, 0, 5],
            "smc": ["Yes", "Yes", "Yes", "", None, "Yes", "Yes"],
            "ttls": ["Policy", "Policy", "Policy", "Policy", "Policy", None, ""],
        }
    )
    return conform("connections", df)


def tables(**extra) -> TableSet:
    return TableSet({"connections": connections(), **extra})


KEYS = ["local_ip", "local_port", "remote_ip", "remote_port"]


def test_per_row_findings_and_columns():
    r = rule(where={"stuck": 'state == "FIN_WAIT_1" and smc != "" and ttls'},
             condition="stuck", message="{local_ip}:{local_port} {state_raw} q={send_q}")  # fmt: skip
    f = run_rule(r, tables())
    assert list(f.columns) == list(SCHEMAS["findings"])
    assert f["line"].tolist() == [10, 20, 30]
    assert f["message"].tolist() == [
        "10.1.1.1:21 FinWt1 q=100", "10.1.1.1:21 FinWt1 q=-", "10.1.1.1:21 FinWt1 q=300"
    ]  # fmt: skip
    assert f["lines"].tolist() == [[10], [20], [30]]
    assert f["evidence"].iloc[0] == [{"table": "connections", "source": "a.txt", "line": 10}]
    assert f["first_ts"].iloc[1] == T0 + pd.Timedelta(seconds=60)
    assert (f["level"] == "high").all() and (f["rule_id"] == "t-rule").all()


def test_group_by_having_count_and_span():
    r = rule(
        where={"stuck": 'state == "FIN_WAIT_1"'}, condition="stuck", group_by=KEYS,
        having="count >= 2 and span(snapshot_ts) >= 2m",
        message="{local_ip}:{local_port} stuck {count}x over {span(snapshot_ts)}s",
    )  # fmt: skip
    f = run_rule(r, tables())
    assert len(f) == 1
    row = f.iloc[0]
    assert row["message"] == "10.1.1.1:21 stuck 3x over 180s"
    assert row["key"] == "local_ip=10.1.1.1 local_port=21 remote_ip=10.9.9.9 remote_port=5000"
    assert row["lines"] == [10, 20, 30]
    assert row["first_ts"] == T0 and row["last_ts"] == T0 + pd.Timedelta(seconds=180)


@pytest.mark.parametrize(
    "having, groups",
    [
        ("count == 3", ["21"]),
        ("sum(send_q) == 400", ["21"]),  # null ignored by the aggregate
        ("sum(send_q) == 16", ["1025"]),
        ("min(send_q) == 100", ["21"]),
        ("max(send_q) == 9", ["1025"]),
        ("mean(send_q) == 200", ["21"]),
        ("mean(send_q) == 8", ["1025"]),
        ("nunique(smc) == 1", ["1025", "21", "23"]),  # 1025: "" counts, null does not
        ("nunique(snapshot_ts) == 2", ["1025"]),
        ("nunique(source) == 2", ["1025"]),
        ("span(snapshot_ts) == 30", ["1025"]),
        ("span(send_q) == 200", ["21"]),
        ('first(smc) == "Yes"', ["21", "23"]),
        ("first(send_q) == 7", ["1025"]),
        ("last(send_q) == 300", ["21"]),  # last in time order
        ('last(smc) == ""', ["1025"]),  # last non-null value
        ("count >= 2 and local_port == 1025", ["1025"]),  # group keys usable in having
        ("min(send_q) is null", []),
        ("max(count, 2) == 3", ["21"]),  # elementwise max over aggregates
    ],
)
def test_aggregates(having, groups):
    r = rule(condition='state == "FIN_WAIT_1"', group_by=["local_port"], having=having,
             message="{local_port}")  # fmt: skip
    f = run_rule(r, tables())
    assert sorted(f["message"].tolist()) == groups


@pytest.mark.parametrize(
    "having, groups",
    [
        # port 21: 3 rows, smc "Yes" in all; 1025: 2 rows, smc "" and null; 23: 2 rows, "Yes"
        # big_q: 21 true, false (null send_q), true; 1025 false, true; 23 false, true
        ("sum(with_smc) == 3", ["21"]),  # a selection counts the group's rows in it
        ("sum(with_smc) >= 1 and mean(with_smc) < 1", []),
        ("mean(with_smc) == 0", ["1025"]),
        ("mean(big_q) == 0.5", ["1025", "23"]),  # 1025: 9 of (7, 9); 23: 5 of (0, 5)
        ("nunique(big_q) == 2", ["1025", "21", "23"]),  # 21: true, false (null), true
        ("max(with_smc) and not min(with_smc)", []),
    ],
)
def test_aggregates_of_a_selection(having, groups):
    r = rule(where={"with_smc": 'smc == "Yes"', "big_q": "send_q >= 5 and send_q != 7"},
             condition="state is not null", group_by=["local_port"], having=having,
             message="{local_port}")  # fmt: skip
    f = run_rule(r, tables())
    assert sorted(f["message"].tolist()) == groups


def test_selection_share_in_message_and_lint():
    from zdiag.rules.model import check_rule

    r = rule(where={"with_smc": 'smc == "Yes"'}, condition="state is not null",
             group_by=["local_port"], having="sum(with_smc) >= 1",
             message="{local_port}: {sum(with_smc)} of {count}, share {mean(with_smc)}")  # fmt: skip
    f = run_rule(r, tables())
    assert sorted(f["message"].tolist()) == ["21: 3 of 3, share 1", "23: 2 of 2, share 1"]
    assert not check_rule(r, check_examples=False)
    bad = rule(where={"with_smc": 'smc == "Yes"'}, condition="state is not null",
               group_by=["local_port"], having="sum(no_such) >= 1",
               message="{mean(nor_this)}")  # fmt: skip
    problems = " ".join(p.message for p in check_rule(bad, check_examples=False))
    assert "no_such" in problems and "nor_this" in problems


def test_aggregate_placeholders_in_message():
    r = rule(condition="send_q is not null", group_by=["local_port"],
             message="{local_port}: n={count} sum={sum(send_q)} mean={mean(send_q)} "
                     "first={first(state_raw)} last={last(state_raw)} uniq={nunique(smc)}")  # fmt: skip
    f = run_rule(r, tables())
    assert sorted(f["message"]) == [
        "1025: n=2 sum=16 mean=8 first=FinWt1 last=FinWt1 uniq=1",
        "21: n=2 sum=400 mean=200 first=FinWt1 last=FinWt1 uniq=1",
        "23: n=2 sum=5 mean=2.5 first=Establsh last=FinWt1 uniq=1",
    ]


def test_null_group_keys_form_their_own_group():
    r = rule(condition="true", group_by=["smc"], message="{smc} {count}")
    f = run_rule(r, tables())
    assert sorted(f["message"]) == [" 1", "- 1", "Yes 5"]


def packets(rows) -> pd.DataFrame:
    n = len(rows)
    df = pd.DataFrame(
        {
            "case": [""] * n,
            "source": [r[0] for r in rows],
            "line": list(range(1, n + 1)),
            "conn": [r[1] for r in rows],
            "ts": [T0 + pd.Timedelta(seconds=r[2]) for r in rows],
            "direction": [r[3] for r in rows],
            "rst": [r[4] == "R" for r in rows],
            "data_len": [r[5] for r in rows],
            "ibm_flag": [r[4] if r[4] != "R" else None for r in rows],
            "local_port": [21] * n,
            "remote_port": [5000] * n,
        }
    )
    return conform("packets", df)


# (source, conn, seconds, direction, flag, data_len)
SEQ = [
    ("p.txt", "c1", 0, "out", ".", 100),
    ("p.txt", "c1", 1, "in", ".", 0),
    ("p.txt", "c1", 3, "out", "r", 100),
    ("p.txt", "c1", 7, "out", "r", 100),
    ("p.txt", "c1", 15, "in", ".", 0),  # not a step: ignored between steps
    ("p.txt", "c1", 31, "out", "r", 100),
    ("p.txt", "c1", 100, "out", "R", 0),
    ("p.txt", "c2", 0, "out", "r", 10),  # c2: retransmissions but no reset
    ("p.txt", "c2", 5, "out", "r", 10),
    ("p.txt", "c3", 0, "out", "R", 0),  # c3: reset without retransmissions
]


def seq_rule(**kw) -> Rule:
    base = dict(source="packets", group_by=["conn"], message="{conn}",
                where={"retrans": 'direction == "out" and ibm_flag == "r"',
                       "rst_out": 'direction == "out" and rst'},
                sequence=["retrans+", "rst_out"])  # fmt: skip
    base.update(kw)
    return rule(**base)


def test_sequence_with_repetition():
    f = run_rule(seq_rule(), TableSet({"packets": packets(SEQ)}))
    assert f["message"].tolist() == ["c1"]
    assert f["lines"].iloc[0] == [3, 4, 6, 7]
    assert f["first_ts"].iloc[0] == T0 + pd.Timedelta(seconds=3)


def test_sequence_without_repetition_needs_adjacent_steps():
    r = seq_rule(sequence=["retrans", "rst_out"])
    f = run_rule(r, TableSet({"packets": packets(SEQ)}))
    assert f["lines"].tolist() == [[6, 7]]


def test_sequence_within_trims_repetition_or_drops():
    # within 60s of the first retransmission the RST (at +97s) is out of reach
    f = run_rule(seq_rule(within="60s"), TableSet({"packets": packets(SEQ)}))
    assert len(f) == 0
    r = seq_rule(sequence=["rst_out", "retrans+"], within="2s")
    rows = [("p.txt", "c9", 0, "out", "R", 0), ("p.txt", "c9", 1, "out", "r", 1),
            ("p.txt", "c9", 2, "out", "r", 1), ("p.txt", "c9", 9, "out", "r", 1)]  # fmt: skip
    f = run_rule(r, TableSet({"packets": packets(rows)}))
    assert f["lines"].tolist() == [[1, 2, 3]]  # the 9s retransmission is cut off


def test_sequence_gap():
    f = run_rule(seq_rule(gap="> 60s"), TableSet({"packets": packets(SEQ)}))
    assert f["message"].tolist() == ["c1"]  # 31s → 100s: 69 s between the steps
    f = run_rule(seq_rule(gap="> 70s"), TableSet({"packets": packets(SEQ)}))
    assert len(f) == 0


def test_sequence_never_spans_two_files():
    rows = [("a.txt", "c1", 0, "out", "r", 1), ("b.txt", "c1", 1, "out", "R", 0)]
    f = run_rule(seq_rule(), TableSet({"packets": packets(rows)}))
    assert len(f) == 0


def test_sequence_with_having_filters_groups_first():
    r = seq_rule(having="count >= 5")  # rows of the group that match a step
    f = run_rule(r, TableSet({"packets": packets(SEQ)}))
    assert f["message"].tolist() == []
    r = seq_rule(having="count >= 4")
    f = run_rule(r, TableSet({"packets": packets(SEQ)}))
    assert f["message"].tolist() == ["c1"]


def test_correlate_adds_evidence_and_require_filters():
    pk = packets(SEQ)
    corr = [{"table": "packets", "on": {"local_port": "local_port"}, "where": "rst"}]
    r = rule(condition='state == "FIN_WAIT_1" and local_port == 21', group_by=["local_port"],
             correlate=corr, message="{local_port}")  # fmt: skip
    f = run_rule(r, tables(packets=pk))
    ev = f["evidence"].iloc[0]
    assert [e["table"] for e in ev] == ["connections"] * 3 + ["packets"] * 2
    assert [e["line"] for e in ev if e["table"] == "packets"] == [7, 10]
    required = [{**corr[0], "on": {"local_port": "remote_port"}, "require": True}]
    r2 = rule(condition='state == "FIN_WAIT_1"', group_by=["local_port"],
              correlate=required, message="{local_port}")  # fmt: skip
    assert len(run_rule(r2, tables(packets=pk))) == 0  # no packet has remote_port 21
    r3 = rule(condition='state == "FIN_WAIT_1"', group_by=["local_port"],
              correlate=[{**corr[0], "require": True}], message="{local_port}")  # fmt: skip
    assert run_rule(r3, tables(packets=pk))["message"].tolist() == ["21"]


def test_missing_column_is_a_rule_error_not_a_crash():
    df = connections().drop(columns=["smc"])
    bad = rule(id="needs-smc", condition='smc == "Yes"')
    good = rule(id="fin", condition='state == "FIN_WAIT_1"', level="low")
    findings, errors = run_rules([bad, good], TableSet({"connections": df}))
    assert [e.rule_id for e in errors] == ["needs-smc"]
    assert "unknown column or selection 'smc'" in errors[0].message
    assert set(findings["rule_id"]) == {"fin"}
    with pytest.raises(RuleRuntimeError, match="group_by"):
        run_rule(rule(condition="true", group_by=["smc"]), TableSet({"connections": df}))


def test_absent_table_gives_no_findings():
    f = run_rule(rule(source="messages", condition="true"), tables())
    assert len(f) == 0 and list(f.columns) == list(SCHEMAS["findings"])


def test_findings_sorted_by_level():
    rs = [rule(id="a-low", level="low", condition="line == 10"),
          rule(id="b-crit", level="critical", condition="line == 30"),
          rule(id="c-med", level="medium", condition="line == 20")]  # fmt: skip
    findings, errors = run_rules(rs, tables())
    assert not errors
    assert findings["rule_id"].tolist() == ["b-crit", "c-med", "a-low"]


def test_runs_on_many_rows_without_row_loops():
    n = 100_000
    rng = np.random.default_rng(1)
    df = pd.DataFrame(
        {
            "case": [""] * n, "source": ["x"] * n, "line": np.arange(1, n + 1),
            "snapshot_ts": T0 + pd.to_timedelta(rng.integers(0, 3600, n), unit="s"),
            "local_port": rng.integers(1, 500, n), "state": rng.choice(["FIN_WAIT_1", "LISTEN"], n),
        }
    )  # fmt: skip
    r = rule(condition='state == "FIN_WAIT_1"', group_by=["local_port"],
             having="count > 0 and span(snapshot_ts) > 1m", message="{local_port} {count}")  # fmt: skip
    f = run_rule(r, TableSet({"connections": conform("connections", df)}))
    assert 0 < len(f) <= 499
    assert sum(len(x) for x in f["lines"]) == int((df["state"] == "FIN_WAIT_1").sum())


def test_unexpected_failure_in_one_rule_is_recorded():
    df = connections()
    df["odd"] = pd.Series([[1], [2], [3], [4], [5], [6], [7]], dtype=object)  # unhashable
    bad = rule(id="odd-key", condition="true", group_by=["odd"])
    good = rule(id="fin", condition='state == "FIN_WAIT_1"')
    findings, errors = run_rules([bad, good], TableSet({"connections": df}))
    assert [e.rule_id for e in errors] == ["odd-key"]
    assert errors[0].message.startswith("internal error: TypeError")
    assert set(findings["rule_id"]) == {"fin"}
