"""zdiag's TCP analysis against Wireshark's (tshark 4.0 from Debian), on the scenario traces
of tests/tools/scenarios.py, on random well-formed flows, and on the seed004 samples; the
same scenarios parsed from IPCS text and from pcap give the same analysis."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from tools import scenarios, seed_table, tshark_oracle

import zdiag
from zdiag.analysis.tcp import CLASS_COLUMN, PRECEDENCE, analyse
from zdiag.tables import PACKET_ANALYSIS_COLUMNS

NAMES = list(scenarios.SCENARIOS)


def zdiag_classes(packets: pd.DataFrame) -> dict[int, tuple[set[str], int | None]]:
    out = {}
    for r in packets.to_dict("records"):
        got = {c for c, col in CLASS_COLUMN.items() if r[col] is True}
        num = r["dup_ack_num"]
        out[int(r["line"])] = (got, None if num is None or pd.isna(num) else int(num))
    return out


def assert_same_as_tshark(pcap, packets):
    want = tshark_oracle.classes(pcap)
    got = zdiag_classes(packets)
    assert set(got) == set(want)
    diff = {f: (got[f], want[f]) for f in want if got[f] != want[f]}
    assert not diff, f"frames where zdiag (left) differs from tshark (right): {diff}"


@pytest.fixture(scope="module")
def scenario_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("scenarios")
    scenarios.write_all(d)
    return d


_PARSED: dict = {}


def parsed(scenario_dir, name: str, ext: str):
    """zdiag.parse of a scenario file, once per test session."""
    key = (str(scenario_dir), name, ext)
    if key not in _PARSED:
        _PARSED[key] = zdiag.parse([scenario_dir / f"{name}.{ext}"])
    return _PARSED[key]


@pytest.mark.parametrize("name", NAMES)
def test_scenario_matches_tshark(scenario_dir, name):
    ts = parsed(scenario_dir, name, "pcap")
    assert ts["files"]["kind"].iloc[0] == "pcap"
    assert_same_as_tshark(scenario_dir / f"{name}.pcap", ts["packets"])


def test_scenarios_cover_every_class(scenario_dir):
    seen = set()
    for name in NAMES:
        p = parsed(scenario_dir, name, "pcap")["packets"]
        seen |= {c for c, col in CLASS_COLUMN.items() if p[col].any()}
    assert seen == set(CLASS_COLUMN)


@pytest.mark.parametrize("seed", [7, 12, 58])
def test_random_flows_match_tshark(tmp_path, seed):
    """Ten interleaved random connections with gaps, retransmissions, duplicate ACKs,
    zero windows and probes, keepalives, ACKs of unseen data and sequence wrap."""
    pcap = tmp_path / f"random_{seed}.pcap"
    scenarios.write_random_pcap(pcap, seed)
    assert_same_as_tshark(pcap, zdiag.parse([pcap])["packets"])


KEEP = [*CLASS_COLUMN.values(), "analysis", "dup_ack_num", "missing_segments_est", "conn",
        "nr", "direction", "seq", "ack_num", "window", "data_len", "syn", "ack", "fin",
        "rst"]  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
def test_text_and_pcap_give_the_same_analysis(scenario_dir, name):
    a = parsed(scenario_dir, name, "pcap")
    b = parsed(scenario_dir, name, "txt")
    assert b["files"]["kind"].iloc[0] == "systcpda.session"
    assert int(b["files"]["unrecognised"].iloc[0]) == 0
    pd.testing.assert_frame_equal(a["packets"][KEEP], b["packets"][KEEP], check_dtype=False)
    ca, cb = a["conn_analysis"], b["conn_analysis"]
    cols = [c for c in ca.columns if c not in ("source", "line", "longest_idle_before_line")]
    pd.testing.assert_frame_equal(ca[cols], cb[cols], check_dtype=False)


def test_seed_samples_expected_output():
    assert seed_table.render() == seed_table.EXPECTED.read_text()


@pytest.mark.parametrize("path", seed_table.SAMPLES, ids=lambda p: p.name)
def test_seed_samples_agree_with_tshark(tmp_path, path):
    """The seed004 packets written as a pcap: tshark's classes equal zdiag's on the text."""
    packets = zdiag.parse([path])["packets"]
    pcap = tmp_path / "seed.pcap"
    scenarios.write_pcap(scenarios.pkts_from_packets(packets), pcap)
    want = tshark_oracle.classes(pcap)
    got = zdiag_classes(packets)
    lines = list(got)
    assert {i + 1: want[i + 1] for i in range(len(lines))} == {
        i + 1: got[ln] for i, ln in enumerate(lines)
    }


def test_ibm_disagreements_on_reset_example():
    ts = zdiag.parse([seed_table.SAMPLES[1]])
    d = ts["ibm_disagreements"].set_index("ibm_letter")
    assert seed_table.SAMPLES[1].name.endswith("reset_ex1.txt")
    assert (d.loc["r", ["ibm_count", "zdiag_count", "both"]] == [5, 5, 5]).all()
    assert d.loc["u", "ibm_only"] == 1  # IBM calls the handshake's third ACK a dup ACK
    assert d["disagreements"].sum() == 1


def test_packets_carry_the_analysis_columns():
    p = zdiag.parse([seed_table.SAMPLES[0]])["packets"]
    for col in PACKET_ANALYSIS_COLUMNS:
        assert col in p.columns
    assert set(p["analysis"]) <= set(PRECEDENCE) | {""}
    # the raw RST flag is kept beside the class
    assert "rst" in p.columns and p["rst"].dtype == "boolean"


def test_analysis_label_follows_precedence(scenario_dir):
    p = parsed(scenario_dir, "dupacks_fast_retransmit", "pcap")["packets"]
    fast = p[p["fast_retransmission"]]
    assert len(fast) == 1 and fast["retransmission"].all()
    assert (fast["analysis"] == "fast_retransmission").all()
    dups = p[p["dup_ack"]]
    assert list(dups["dup_ack_num"]) == [1, 2, 3, 4]


def test_missing_segments_estimate(scenario_dir):
    p = parsed(scenario_dir, "ooo_gap_thousands", "pcap")["packets"]
    gap = p[p["previous_segment_not_captured"]]
    assert list(gap["missing_segments_est"]) == [3000]


def test_conn_analysis_summaries(scenario_dir):
    def one(name):
        return parsed(scenario_dir, name, "txt")["conn_analysis"].iloc[0]

    idle = one("idle_then_inbound_rst")
    assert idle["first_rst_by"] == "remote" and idle["final_state"] == "CLOSED (reset)"
    assert idle["longest_idle_s"] == pytest.approx(7260.25)
    assert idle["rst_remote"] == 1 and idle["rst_local"] == 0
    rst = one("retrans_then_local_rst")
    assert rst["first_rst_by"] == "local" and rst["retransmission_local"] == 5
    assert rst["handshake_rtt_s"] == pytest.approx(0.0009)
    syn = one("handshake_timeout")
    assert syn["final_state"].startswith("SYN_RECEIVED")
    assert syn["retransmission_local"] == 1 and syn["retransmission_remote"] == 2
    ka = one("keepalives_unanswered")
    assert ka["keepalive_local"] == 7 and ka["keepalive_ack_remote"] == 1
    assert pd.isna(ka["first_rst_by"]) and ka["final_state"] == "ESTABLISHED"
    normal = one("normal_transfer")
    assert normal["final_state"] == "CLOSED (FIN both ways)"
    assert normal["first_fin_by"] == "local" and normal["bytes_local"] == 8 * 1460


def test_interleaving_other_connections_changes_nothing():
    """Per-connection history: analysing connections alone or interleaved is the same."""
    rng = random.Random(5)
    frames = []
    for k in range(4):
        c = scenarios.random_conv(rng, 80)
        p = pd.DataFrame(
            {
                "conn": f"c{k}",
                "direction": [x.direction for x in c.pkts],
                "seq": [x.seq for x in c.pkts],
                "ack_num": [x.ack for x in c.pkts],
                "window": [x.win for x in c.pkts],
                "data_len": [x.length for x in c.pkts],
                "ts": pd.to_datetime([x.t for x in c.pkts], unit="s"),
                **{f: [ch in x.flags for x in c.pkts]
                   for f, ch in (("syn", "S"), ("ack", "A"), ("fin", "F"), ("rst", "R"))},
            }
        )  # fmt: skip
        frames.append(p)
    alone = pd.concat([analyse(f) for f in frames], ignore_index=True)
    together = pd.concat(frames, ignore_index=True)
    together["_k"] = np.arange(len(together))
    mixed = together.sort_values("ts", kind="stable")  # the connections interleave in time
    assert not mixed["_k"].is_monotonic_increasing
    got = analyse(mixed).sort_values("_k")
    cols = [*CLASS_COLUMN.values(), "dup_ack_num", "analysis"]
    pd.testing.assert_frame_equal(
        got[cols].reset_index(drop=True), alone[cols].reset_index(drop=True), check_dtype=False
    )
