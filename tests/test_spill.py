"""A scan whose packets are kept on disk in buckets finds what the in-memory scan finds."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from zdiag import spill as spill_mod
from zdiag import stream
from zdiag.report import write_reports
from zdiag.rules.scan import scan

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.gen import all_generators  # noqa: E402

CORRELATED = ROOT / "fixtures/rules/ph48237-finwait1-smc-ttls-rst-ignored"
FINDING_COLS = ["rule_id", "level", "source", "line", "key", "message", "first_ts", "last_ts"]


def _findings(result) -> pd.DataFrame:
    f = result.findings[FINDING_COLS].astype(str)
    return f.sort_values(FINDING_COLS).reset_index(drop=True)


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in ("source", "conn", "ibm_letter", "class", "line") if c in df.columns]
    return df.sort_values(keys).reset_index(drop=True)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> list[str]:
    path = tmp_path_factory.mktemp("spill") / "session.txt"
    all_generators()["systcpda.session"].write(path, 700_000, seed=7)
    return [
        str(path),
        str(CORRELATED / "netstat_finwait1_and_trace_fin_rst"),
        str(ROOT / "fixtures/demo"),
    ]


@pytest.fixture
def small_pieces(monkeypatch, tmp_path):
    """Call it to have every chunkable file read in pieces, its packets spilled into several
    buckets under ``tmp_path``; returns ``tmp_path``."""
    import tempfile

    def apply() -> Path:
        monkeypatch.setattr(stream, "MIN_BYTES", 0)
        monkeypatch.setattr(stream, "CHUNK_BYTES", 200_000)
        monkeypatch.setattr(spill_mod, "BUCKET_BYTES", 300_000)
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
        return tmp_path

    return apply


def test_spilled_scan_finds_what_the_in_memory_scan_finds(inputs, small_pieces):
    whole = scan(inputs)
    assert whole.tables.spill is None
    small_pieces()
    parts = scan(inputs)
    assert parts.tables.spill is not None and parts.tables.spill.nbuckets > 1
    # the demo's netstat snapshots and syslog were streamed too: their tables went to disk
    assert set(parts.tables.spill.tables) == {"packets", "connections", "messages"}
    assert parts.tables.spill.rows["packets"] == len(whole.tables["packets"])
    assert len(whole.findings) > 20
    pd.testing.assert_frame_equal(_findings(whole), _findings(parts))
    assert parts.rule_errors == whole.rule_errors == []
    for name in ("sessions", "conn_analysis", "ibm_disagreements", "config"):
        pd.testing.assert_frame_equal(_sorted(whole.tables[name]), _sorted(parts.tables[name]),
                                      obj=name)  # fmt: skip
    # a rule over netstat connections took its evidence from the spilled packets
    sources = {r.id: r.source for r in parts.rules}
    correlated = [f for f in parts.findings.itertuples()
                  if sources[f.rule_id] != "packets"
                  and any(e["table"] == "packets" for e in f.evidence)]  # fmt: skip
    assert correlated, "no finding correlated with packets"
    # every packet a finding points at is in the table the reports get
    kept = set(zip(parts.tables["packets"]["source"], parts.tables["packets"]["line"], strict=True))
    named = {(e["source"], e["line"]) for evs in parts.findings["evidence"] for e in evs
             if e["table"] == "packets"}  # fmt: skip
    assert named and named == kept  # exactly the rows findings name, nothing else
    note = parts.tables["files"].set_index("source").loc[inputs[0], "notes"]
    assert "rows kept on disk" in note


def test_tables_folder_gets_the_whole_spilled_table(inputs, small_pieces, tmp_path):
    whole = scan(inputs[:2])
    small_pieces()
    parts = scan(inputs[:2])
    write_reports(whole, tables_dir=tmp_path / "a")
    write_reports(parts, tables_dir=tmp_path / "b", xlsx=tmp_path / "b.xlsx")
    a = _sorted(pd.read_parquet(tmp_path / "a" / "packets.parquet"))
    b = _sorted(pd.read_parquet(tmp_path / "b" / "packets.parquet"))
    pd.testing.assert_frame_equal(a, b)
    assert (tmp_path / "b.xlsx").stat().st_size > 0


def test_the_spill_folder_is_removed(inputs, small_pieces):
    tmp = small_pieces()
    result = scan([inputs[0]])
    folder = result.tables.spill.root
    assert any(folder.rglob("part-*.parquet"))
    result.tables.spill.close()
    assert not folder.exists()
    del result
    assert not list(tmp.glob("zdiag-spill-*"))


def test_cli_scan_of_a_large_trace_leaves_no_spill_behind(inputs, small_pieces, tmp_path):
    from click.testing import CliRunner

    from zdiag.cli import main

    tmp = small_pieces()
    res = CliRunner().invoke(main, ["scan", inputs[0], "--json", str(tmp_path / "f.json"),
                                    "--fail-on", "never"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert (tmp_path / "f.json").stat().st_size > 0
    assert "rows kept on disk" in (tmp_path / "f.json").read_text()
    assert not list(tmp.glob("zdiag-spill-*"))


SITE_RULES = {
    # groups that span connections (and so buckets): per remote address, and per file
    "resets-per-direction.yaml": """id: site-resets-per-direction
title: Resets each way
level: low
source: packets
where:
  reset: rst
condition: reset
group_by: [direction]
having: count >= 2
message: "{direction}: {count} resets"
""",
    "retransmissions-per-file.yaml": """id: site-retransmissions-per-file
title: Trace with retransmissions
level: info
source: packets
where:
  re: retransmission or fast_retransmission
condition: re
group_by: [source]
having: count >= 1 and span(ts) >= 0s
message: "{source}: {count} retransmissions"
""",
    "stalls-per-host.yaml": """id: site-messages-per-host
title: Messages per host
level: info
source: messages
where:
  any: msg_id is not null
condition: any
group_by: [msg_id]
message: "{msg_id}: {count} messages"
""",
}


def test_rules_grouping_across_connections_see_every_part(inputs, small_pieces, tmp_path):
    """A rule's groups need not follow the buckets: each rule keeps the rows it considers
    from every part and runs once over them."""
    site = tmp_path / "site"
    site.mkdir()
    for name, text in SITE_RULES.items():
        (site / name).write_text(text)
    whole = scan(inputs, rules=[site])
    small_pieces()
    parts = scan(inputs, rules=[site])
    assert parts.rule_errors == whole.rule_errors == []
    ids = set(whole.findings["rule_id"])
    assert {"site-resets-per-direction", "site-retransmissions-per-file",
            "site-messages-per-host"} <= ids  # fmt: skip
    pd.testing.assert_frame_equal(_findings(whole), _findings(parts))
