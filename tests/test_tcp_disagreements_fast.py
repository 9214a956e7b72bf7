"""ibm_disagreements counts with integer codes; it must give what the string-keyed
group-by gave (kept as tcp._ibm_disagreements_reference)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import zdiag
from zdiag.analysis import tcp

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def packets():
    files = sorted((ROOT / "fixtures" / "systcpda").glob("seed004_session_*.txt"))
    pk = zdiag.parse(files)["packets"]
    assert pk["source"].nunique() >= 2
    other = pk.copy()
    other["case"] = "second"  # the same files under another case
    both = pd.concat([pk, other], ignore_index=True)
    rng = np.random.default_rng(3)
    # shuffle so that files and cases interleave, and blank out some letters
    both = both.iloc[rng.permutation(len(both))].reset_index(drop=True)
    flags = both["ibm_flag"].copy()
    flags[rng.random(len(both)) < 0.2] = pd.NA
    both["ibm_flag"] = flags
    return both


@pytest.mark.parametrize("sources", ["default", "one", "none"])
def test_same_as_reference(packets, sources):
    names = sorted(packets["source"].astype(str).unique())
    ts = {"default": None, "one": {names[0]}, "none": {"no such file"}}[sources]
    want = tcp._ibm_disagreements_reference(packets, ts)
    got = tcp.ibm_disagreements(packets, ts)
    if sources == "none":
        assert got.empty and want.empty
        return
    assert len(got) > 0
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True))
