"""Smoke test of the benchmark (``bench/run.py --quick``, the packet kind only, to keep the
default run short; the other kinds' generators are checked in-process by
test_bench_gen.py): it runs end to end, every method produces its parquet, all of them find
the same packet rows, and the rules run over the result. Nothing about speed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_quick_runs_and_methods_agree(tmp_path):
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--data", str(tmp_path),
         "--out", str(out), "--kinds", "systcpda.session"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(out.read_text())
    kind = res["kinds"]["systcpda.session"]
    (entry,) = kind["sizes"].values()
    methods = entry["methods"]
    assert set(methods) == {"zdiag", "scan", "polars", "pyarrow", "re", "lark"}
    for m, r in methods.items():
        assert "error" not in r, (m, r)
        assert r["seconds"] > 0 and r["peak_rss_mb"] > 0
    packets = methods["zdiag"]["rows"]["packets"]
    assert packets == entry["input"]["packets"]  # what the generator wrote
    for m in ("polars", "pyarrow", "re", "lark"):
        assert methods[m]["rows"]["rows"] == packets, m
    # the whole scan (parse, analysis, rules) saw the same packets and ran the rules
    assert methods["scan"]["rows"]["packets"] == packets
    assert methods["scan"]["rows"]["findings"] > 0
    assert "1MB_vs_floor" in kind["targets"]
    # rules over the result: every bundled rule over the tables zdiag wrote
    rules = res["rules"]
    assert rules["measured"] is True, rules
    assert rules["rows"]["packets"] == packets and rules["rules"] >= 1
    assert rules["rule_errors"] == 0
    assert set(rules["phases"]) == {"read_parquet", "tcp_analysis", "load_rules", "rules"}
