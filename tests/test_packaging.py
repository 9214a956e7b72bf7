"""The wheel carries grammars/ and rules/ as package data and works without the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_non_editable_wheel_runs_from_its_own_data(tmp_path):
    wheel_dir = tmp_path / "wheel"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
         "-q", "-w", str(wheel_dir)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = wheel_dir.glob("zdiag-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "zdiag/_data/grammars/systcpda_session.lark" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    sample = ROOT / "fixtures" / "systcpda" / "seed004_session_detail_reset_ex1.txt"
    code = (
        "import zdiag, zdiag.resources as r; "
        "d = r.data_dir('grammars'); print(d); "
        f"t = zdiag.parse([{str(sample)!r}]); print(len(t['packets']))"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(site)
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    assert out[0].startswith(str(site)), out
    assert out[1] == "12"
    kinds = subprocess.run([sys.executable, "-m", "zdiag", "kinds"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "systcpda.session" in kinds
