"""The rules code never evaluates text as code: no eval/exec/DataFrame.query/DataFrame.eval
and no unsafe YAML loading anywhere under src/zdiag."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "zdiag"

FORBIDDEN = [
    (re.compile(r"(?<![\w.])eval\s*\("), "eval("),
    (re.compile(r"(?<![\w.])exec\s*\("), "exec("),
    (re.compile(r"\.query\s*\("), ".query("),
    (re.compile(r"\.eval\s*\("), ".eval("),
    (re.compile(r"yaml\.(unsafe_)?load\s*\((?![^)]*SafeLoader)"), "yaml.load without SafeLoader"),
    (re.compile(r"yaml\.(full_load|unsafe_load|load_all)\s*\("), "unsafe yaml loader"),
    (re.compile(r"\b(iterrows|itertuples)\s*\("), "row iteration"),
]


def test_no_code_evaluation_in_source():
    files = sorted(SRC.rglob("*.py"))
    assert any(p.parent.name == "rules" for p in files)
    hits = []
    for path in files:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            for pattern, what in FORBIDDEN:
                if pattern.search(code):
                    hits.append(f"{path.relative_to(SRC)}:{n}: {what}: {line.strip()}")
    assert hits == []


def test_the_grep_catches_what_it_should():
    samples = ["x = eval('1')", "df.query('a > 1')", "df.eval('a+b')", "exec(code)",
               "yaml.load(text)", "for r in df.iterrows():"]  # fmt: skip
    for s in samples:
        assert any(p.search(s) for p, _ in FORBIDDEN), s
    assert not any(p.search("ast.literal_eval(tok)") for p, _ in FORBIDDEN)
    assert not any(p.search("yaml.compose(text, Loader=yaml.SafeLoader)") for p, _ in FORBIDDEN)
