"""Meta-tests over fixtures/: every input has its expected pair, every pair still holds,
every kind has at least two real samples, and no shared sample leaves a line unrecognised."""

from __future__ import annotations

import pytest
from conftest import load_expected
from tools.expected import expected_path, fixture_inputs, snapshot

from zdiag.kinds import registry

INPUTS = fixture_inputs()


def test_there_are_fixtures():
    assert len(INPUTS) >= 6


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture_matches_expected(path):
    exp = expected_path(path)
    assert exp.exists(), f"{path.name} has no expected pair; run tests/tools/expected.py on it"
    assert snapshot(path) == load_expected(exp)


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture_fully_accounted(path):
    got = load_expected(expected_path(path))
    acc = got["accounting"]
    assert acc["parsed"] + acc["layout"] + acc["unrecognised"] == acc["lines"]
    assert got["kind"] != "unknown", f"{path.name} was not recognised"
    assert acc["unrecognised"] == 0, got["tables"].get("unrecognised")


def test_every_kind_has_two_real_samples():
    kinds_seen: dict[str, int] = {}
    for p in INPUTS:
        kinds_seen[load_expected(expected_path(p))["kind"]] = (
            kinds_seen.get(load_expected(expected_path(p))["kind"], 0) + 1
        )
    for kind in registry.all_kinds():
        assert kinds_seen.get(kind.name, 0) >= 2, f"{kind.name} has fewer than 2 fixtures"
