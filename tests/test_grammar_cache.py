"""The on-disk cache of derived row patterns: same patterns, keyed by the grammars' text."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from zdiag import grammar

ROOT = Path(__file__).resolve().parents[1]
RULES = [("systcpda_session", "packet_row"), ("netstat_zos", "conn_row"), ("trmdstat", "stall_row")]


def _fresh(monkeypatch, where):
    monkeypatch.setenv(grammar.CACHE_ENV, str(where))
    monkeypatch.setattr(grammar, "_DISK", None)
    grammar.row_regex.cache_clear()
    grammar._patterns_key.cache_clear()  # the files may have changed since it was computed


def test_cache_is_written_and_served(tmp_path, monkeypatch):
    _fresh(monkeypatch, tmp_path)
    want = {f"{g}:{r}": grammar.derive_row_regex(g, r) for g, r in RULES}
    for g, r in RULES:
        assert grammar.row_regex(g, r) == want[f"{g}:{r}"]
    files = list(tmp_path.glob("row-patterns-*.json"))
    assert len(files) == 1
    assert json.loads(files[0].read_text()) == want
    # a new process reads the patterns from disk without importing Lark
    code = (
        "import sys; from zdiag.grammar import row_regex; "
        f"p = [row_regex(g, r) for g, r in {RULES!r}]; "
        "print('lark' in sys.modules); print(p == list(" + repr(list(want.values())) + "))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(ROOT / "src"), grammar.CACHE_ENV: str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == ["False", "True"]


def test_stale_or_broken_cache_is_not_served(tmp_path, monkeypatch):
    _fresh(monkeypatch, tmp_path)
    key = grammar._cache_file()
    assert key is not None and grammar._patterns_key() in key.name
    # a file of another key (older grammars) is ignored; a garbled file of this key too
    (tmp_path / "row-patterns-0000.json").write_text(json.dumps({"trmdstat:stall_row": "x"}))
    key.write_text("{not json")
    assert grammar.row_regex("trmdstat", "stall_row") == grammar.derive_row_regex(
        "trmdstat", "stall_row"
    )
    assert json.loads(key.read_text())["trmdstat:stall_row"] != "x"


def test_cache_off_and_unwritable(tmp_path, monkeypatch):
    _fresh(monkeypatch, "off")
    assert grammar.cache_dir() is None
    assert grammar.row_regex("trmdstat", "stall_row").startswith("^(?P<__m>)")
    blocker = tmp_path / "file"
    blocker.write_text("")
    _fresh(monkeypatch, blocker / "sub")  # cannot be created: patterns still derived
    assert grammar.row_regex("trmdstat", "stall_row").startswith("^(?P<__m>)")
