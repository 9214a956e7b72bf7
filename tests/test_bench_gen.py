"""The benchmark's generated inputs keep the real layouts: zdiag recognises every line."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import zdiag  # noqa: E402
from bench.gen import all_generators  # noqa: E402

KINDS = sorted(all_generators())


@pytest.mark.parametrize("kind", KINDS)
def test_generated_text_is_fully_recognised(kind, tmp_path):
    gen = all_generators()[kind]
    path = tmp_path / "gen.txt"
    facts = gen.write(path, 60_000, seed=5)
    assert facts["bytes"] >= 60_000
    again = tmp_path / "again.txt"
    gen.write(again, 60_000, seed=5)
    assert path.read_bytes() == again.read_bytes()  # seeded
    ts = zdiag.parse([path], kind=kind)
    f = ts["files"].iloc[0]
    assert pd.isna(f["error"])
    assert int(f["unrecognised"]) == 0
    assert int(f["parsed"]) > 0
    assert sum(len(df) for name, df in ts.items() if name not in ("files", "unrecognised")) > 0
