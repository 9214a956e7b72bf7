"""The knowledge base (issue 9): the bundled rules under rules/, their example fixtures,
the demo case and the clean baseline.

Rules that read zdiag's own TCP analysis columns on ``packets`` (retransmission, keepalive,
previous_segment_not_captured, ...) need zdiag's packet analysis (issue 8, ``zdiag.analysis.tcp``). Until
parsing fills those columns their example tests are marked xfail with that reason; once it does, they run as
ordinary tests (nothing to remove by hand).
"""

from __future__ import annotations

import re
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import zdiag
from zdiag import tables
from zdiag.cli import main
from zdiag.rules.model import load_rules, resolve_example
from zdiag.rules.testing import run_rule_examples

ROOT = Path(__file__).resolve().parents[1]
RULES_DIR = ROOT / "rules"
RULES = load_rules([RULES_DIR], with_bundled=False).rules
BY_ID = {r.id: r for r in RULES}

#: zdiag fills its analysis columns on packets (issue 8) when parsing a trace
HAS_TCP_ANALYSIS = (
    "retransmission"
    in zdiag.parse([ROOT / "fixtures" / "systcpda" / "seed004_session_detail_reset_ex1.txt"])[
        "packets"
    ].columns
)
ANALYSIS_COLUMNS = set(tables.PACKET_ANALYSIS_COLUMNS)
NEEDS_ANALYSIS = "needs zdiag's TCP analysis columns on packets (zdiag.analysis.tcp, issue 8 / branch tcp), not installed yet"


def _condition_texts(rule) -> list[str]:
    texts = list(rule.where.values()) + [rule.condition or "", rule.having or ""]
    texts += [c.get("where", "") for c in rule.correlate if c["table"] == "packets"]
    return texts


def uses_analysis(rule) -> bool:
    """Does the rule read a packets analysis column (in its own conditions on packets, or in
    a correlate on packets)?"""
    names: set[str] = set()
    texts = [c.get("where", "") for c in rule.correlate if c["table"] == "packets"]
    if rule.source == "packets":
        texts = _condition_texts(rule)
    for t in texts:
        names |= set(re.findall(r"[A-Za-z_]\w*", re.sub(r"\"[^\"]*\"", "", t)))
    return bool(names & ANALYSIS_COLUMNS)


def _xfail_if_analysis_missing(rule_ids) -> None:
    if not HAS_TCP_ANALYSIS and any(uses_analysis(BY_ID[r]) for r in rule_ids):
        pytest.xfail(NEEDS_ANALYSIS)


# --------------------------------------------------------------------------- lint and meta


def test_there_is_a_rule_for_every_known_signature():
    ids = set(BY_ID)
    expected = {
        # KNOWLEDGE.md §1 PH48237, levels a+b, a+c, a, b+c
        "ph48237-finwait1-smc-ttls-persistent", "ph48237-finwait1-smc-ttls-rst-ignored",
        "ph48237-finwait1-smc-ttls", "ph48237-finwait1-symptom-unconfirmed",
        # §2 FTP.DATA
        "ftp-datacttime-below-default", "ftp-dconntime-below-default",
        "ftp-inacttime-below-default", "ftp-keepalive-off-or-short",
        # §3 SYSTCPDA patterns
        "tcp-syn-ack-retransmitted", "tcp-outbound-reset-after-retransmissions",
        "tcp-idle-then-local-reset", "tcp-idle-then-remote-reset",
        "tcp-peer-zero-window-persists", "tcp-out-of-order-gap", "tcp-keepalive-unanswered",
        "tcp-session-network-ratios",
        # §4 global TCP stall
        "stall-global-tcp-stall-episode", "stall-global-tcp-stall-unterminated",
        "stall-global-tcp-stall-connection-reset", "stall-netstat-stalled-connections",
        # §5 stuck sockets
        "stuck-fin-wait-2", "stuck-close-wait", "stuck-zero-window-established",
        # §6 II11926
        "pq23444-one-ip-several-macs", "pq25476-connections-time-out-after-link-failure",
    }  # fmt: skip
    assert expected <= ids, sorted(expected - ids)


def test_rules_lint_is_clean():
    r = CliRunner().invoke(main, ["rules", "lint", str(RULES_DIR)])
    assert r.exit_code == 0, r.output


def test_rules_test_command_passes():
    # no folder given: the bundled rules, which are this checkout's rules/ (every rule's
    # examples also run one by one below; this is the command end to end)
    r = CliRunner().invoke(main, ["rules", "test"])
    if not HAS_TCP_ANALYSIS:
        failing = {ln.split()[1] for ln in r.output.splitlines() if ln.startswith("FAIL ")}
        assert failing and all(uses_analysis(BY_ID[i]) for i in failing), r.output
        pytest.xfail(NEEDS_ANALYSIS)
    assert r.exit_code == 0, r.output
    assert (
        f"{sum(len(x.examples['match']) + len(x.examples['nomatch']) for x in RULES)} passed, 0 failed"
        in r.output
    )
    assert "PASS tcp-outbound-reset-after-retransmissions match" in r.output


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_has_what_an_operator_needs(rule):
    assert rule.references, "no references"
    assert len(rule.remedy.split()) >= 8, "remedy too short to act on"
    assert len(rule.description.split()) >= 15
    assert re.search(r"\{[^}]+\}", rule.message), "message names nothing"
    assert rule.path.parent.parent == RULES_DIR and rule.path.parent.name in (
        "apar", "ftp", "tcp", "stall", "stuck", "routing")  # fmt: skip


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_examples_exist_and_are_read(rule):
    """≥1 match and ≥1 nomatch example, each an existing real-layout input that zdiag
    reads completely (a nomatch example that zdiag cannot read would pass for nothing)."""
    assert rule.examples.get("match") and rule.examples.get("nomatch")
    own = f"fixtures/rules/{rule.id}/"
    assert any(e.startswith(own) for e in rule.examples["match"]), f"no match example in {own}"
    for ex in rule.examples["match"] + rule.examples["nomatch"]:
        path = resolve_example(rule.path, ex)
        assert path.is_file(), ex
        files = zdiag.parse([path])["files"]
        assert len(files) and not files["kind"].isin(["unknown", ""]).any(), ex
        assert files["error"].isna().all() and (files["unrecognised"] == 0).all(), ex
        if path.suffix != ".tar":
            head = path.read_text(encoding="utf-8").splitlines()[:3]
            assert any(h.startswith("#zdiag-sample source:") for h in head), f"{ex}: no provenance"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_examples_pass(rule):
    _xfail_if_analysis_missing([rule.id])
    outcomes = run_rule_examples(rule)
    assert outcomes
    failed = [str(o) for o in outcomes if not o.ok]
    assert not failed, failed


def test_case_archives_match_their_folders():
    """Multi-file examples are .tar archives (examples name files); each is the exact copy of
    the folder of the same name beside it, which is there to be read."""
    archives = sorted((ROOT / "fixtures" / "rules").rglob("*.tar"))
    assert archives
    for tar in archives:
        folder = tar.with_suffix("")
        with tarfile.open(tar) as tf:
            members = {m.name: tf.extractfile(m).read() for m in tf.getmembers() if m.isfile()}
        on_disk = {f"{folder.name}/{p.name}": p.read_bytes() for p in folder.iterdir()}
        assert members == on_disk, tar


def test_near_misses_sit_on_the_threshold():
    """The FTP.DATA near misses hold the default itself (must not fire) and the matches one
    second below it (must fire)."""
    fx = ROOT / "fixtures" / "rules"
    cases = {
        "ftp-datacttime-below-default/near_miss_datacttime_300.txt": ("DATACTTIME", 300),
        "ftp-datacttime-below-default/datacttime_299.txt": ("DATACTTIME", 299),
        "ftp-dconntime-below-default/near_miss_dconntime_120.txt": ("DCONNTIME", 120),
        "ftp-dconntime-below-default/dconntime_119.txt": ("DCONNTIME", 119),
        "ftp-inacttime-below-default/near_miss_inacttime_300.txt": ("INACTTIME", 300),
        "ftp-inacttime-below-default/inacttime_299.txt": ("INACTTIME", 299),
        "ftp-keepalive-off-or-short/near_miss_ftpkeepalive_60.txt": ("FTPKEEPALIVE", 60),
        "ftp-keepalive-off-or-short/ftpkeepalive_59.txt": ("FTPKEEPALIVE", 59),
    }
    for rel, (stmt, value) in cases.items():
        cfg = zdiag.parse([fx / rel])["config"]
        assert list(cfg.loc[cfg["statement"] == stmt, "value_num"]) == [value], rel


# --------------------------------------------------------------------------- seeds

SEEDS = ROOT / "fixtures" / "systcpda"
#: each technote (seed 004) SESSION example and the rule of its pattern (KNOWLEDGE §3)
SEED_PATTERNS = {
    "seed004_session_detail_reset_ex1.txt": {"tcp-outbound-reset-after-retransmissions"},
    "seed004_session_detail_syn_timeout.txt": {"tcp-syn-ack-retransmitted"},
    "seed004_session_detail_zero_window.txt": {"tcp-peer-zero-window-persists"},
    "seed004_session_detail_keepalive_no_timestamp.txt": {"tcp-keepalive-unanswered"},
    # 2 of 109 inbound packets out of order (1.83%): the ratio rule's 1% line
    "seed004_session_summary_packets.txt": {"tcp-session-network-ratios"},
    # the connection-header fragment carries no packet counts: no pattern, nothing fires
    "seed004_session_summary_conn_header.txt": set(),
}


def _scan_all_rules(paths):
    return zdiag.scan(paths, rules=RULES)


@pytest.mark.parametrize("name", sorted(SEED_PATTERNS))
def test_seed_example_fires_its_pattern_and_nothing_else(name):
    want = SEED_PATTERNS[name]
    if not HAS_TCP_ANALYSIS:
        # without the analysis columns the analysis rules cannot run at all (so "nothing
        # unrelated" cannot be shown for them); the other rules must still give exactly the
        # expected answer on this seed
        plain = {r for r in want if not uses_analysis(BY_ID[r])}
        res = zdiag.scan([SEEDS / name], rules=[r for r in RULES if not uses_analysis(r)])
        assert set(res.findings["rule_id"]) == plain
        pytest.xfail(NEEDS_ANALYSIS)
    res = _scan_all_rules([SEEDS / name])
    assert not res.rule_errors, res.rule_errors
    assert set(res.findings["rule_id"]) == want


# --------------------------------------------------------------------------- demo and clean

#: (rule id, level) -> number of findings in fixtures/demo
DEMO_EXPECTED = {
    ("ph48237-finwait1-smc-ttls-persistent", "critical"): 1,
    ("stall-global-tcp-stall-episode", "high"): 1,
    ("tcp-outbound-reset-after-retransmissions", "high"): 2,
    ("stall-global-tcp-stall-connection-reset", "medium"): 1,
    ("ftp-datacttime-below-default", "medium"): 1,
    ("stuck-close-wait", "medium"): 1,
    ("stuck-zero-window-established", "medium"): 1,
    ("tcp-peer-zero-window-persists", "medium"): 1,
    ("ftp-keepalive-off-or-short", "low"): 1,
    ("stall-netstat-stalled-connections", "low"): 3,
}


def test_demo_reads_every_line():
    files = zdiag.parse([ROOT / "fixtures" / "demo"])["files"]
    assert set(files["kind"]) == {"systcpda.session", "netstat.zos", "syslog.zos",
                                  "config.ftpdata"}  # fmt: skip
    assert (files["unrecognised"] == 0).all() and files["error"].isna().all()


def test_demo_fires_the_expected_spread():
    res = zdiag.scan([ROOT / "fixtures" / "demo"])  # bundled rules, as the README runs it
    got = res.findings.groupby(["rule_id", "level"]).size().to_dict()
    plain = {k: v for k, v in DEMO_EXPECTED.items() if not uses_analysis(BY_ID[k[0]])}
    assert {k: v for k, v in got.items() if k in plain} == plain
    assert set(res.findings["level"]) >= {"critical", "high", "medium", "low"}
    assert res.exit_code() == 1
    msg = res.findings.groupby("rule_id")["message"].agg(" | ".join).to_dict()
    assert "3 snapshots over 240 s" in msg["ph48237-finwait1-smc-ttls-persistent"]
    assert "(correlator 151) lasted 312 s" in msg["stall-global-tcp-stall-episode"]
    assert "DATACTTIME 120 s" in msg["ftp-datacttime-below-default"]
    if not HAS_TCP_ANALYSIS:
        pytest.xfail(NEEDS_ANALYSIS)
    assert not res.rule_errors, res.rule_errors
    assert got == DEMO_EXPECTED
    assert "6 retransmissions over 214.02 s, then local RST" in msg[
        "tcp-outbound-reset-after-retransmissions"]  # fmt: skip


def test_clean_baseline_fires_nothing():
    clean = ROOT / "fixtures" / "clean"
    files = zdiag.parse([clean])["files"]
    assert len(files) >= 15 and (files["unrecognised"] == 0).all()
    # hand-assembled healthy cases plus real samples of every kind the rules read
    assert set(files["kind"]) >= {"systcpda.session", "systcpda.summary", "netstat.zos",
                                  "netstat.peer", "syslog.zos", "config.ftpdata"}  # fmt: skip
    res = zdiag.scan([clean])
    assert list(res.findings["rule_id"]) == []
    errors = [
        e for e in res.rule_errors if not (uses_analysis(BY_ID[e.rule_id]) and not HAS_TCP_ANALYSIS)
    ]
    assert not errors, errors
    assert res.exit_code(fail_on="info") == 0
