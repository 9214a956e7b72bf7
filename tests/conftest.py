"""Shared test helpers: where the repository's fixtures are, and how expected pairs compare."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
sys.path.insert(0, str(ROOT / "tests"))


@pytest.fixture
def root() -> Path:
    return ROOT


def load_expected(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
