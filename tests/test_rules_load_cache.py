"""Rule files are checked once per text (a batch loads the rules for every case): an edited
file is checked again, and each load hands out its own Rule objects."""

from __future__ import annotations

from test_rules_lint import GOOD

from zdiag.rules.model import load_rule_file, load_rules


def test_edited_rule_file_is_read_again(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(GOOD, encoding="utf-8")
    first, problems = load_rule_file(path)
    assert first is not None and not problems and first.level == "high"
    path.write_text(GOOD.replace("level: high", "level: low"), encoding="utf-8")
    second, _ = load_rule_file(path)
    assert second.level == "low"
    path.write_text(GOOD.replace("level: high", "level: urgent"), encoding="utf-8")
    bad, problems = load_rule_file(path)
    assert bad is None and [(p.line, p.col) for p in problems] == [(3, 8)]
    problems.clear()  # the caller's list: the next load reports the problem again
    assert [(p.line, p.col) for p in load_rule_file(path)[1]] == [(3, 8)]


def test_same_text_in_two_files_keeps_each_file_name(tmp_path):
    bad = GOOD.replace("level: high", "level: urgent")
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text(bad, encoding="utf-8")
    got = [load_rule_file(tmp_path / n)[1][0].file for n in ("a.yaml", "b.yaml")]
    assert got == [str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")]


def test_each_load_has_its_own_rules():
    one, two = load_rules(), load_rules()
    assert [r.id for r in one.rules] == [r.id for r in two.rules]
    assert all(a is not b for a, b in zip(one.rules, two.rules, strict=True))
