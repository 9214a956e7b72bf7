"""Rule files are composed by libyaml where PyYAML has it, by the pure-Python parser where
not: both give the same values, positions, problems and in-scalar offsets, so a rule's
``file:line:col`` does not depend on how PyYAML was built."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from test_rules_lint import CASES, GOOD

from zdiag.resources import rules_dir
from zdiag.rules import yamlpos
from zdiag.rules.model import lint, load_rules

pytestmark = pytest.mark.skipif(yamlpos._FAST is None, reason="PyYAML built without libyaml")

BUNDLED = sorted(rules_dir().rglob("*.yaml"))
TEXTS = {p.name: p.read_text(encoding="utf-8") for p in BUNDLED}
TEXTS.update({f"lint-{name}": text for name, (text, _) in CASES.items()})


def _same(fast: yamlpos.Located, slow: yamlpos.Located) -> None:
    assert fast.value == slow.value
    assert fast.values == slow.values
    assert fast.keys == slow.keys
    assert fast.errors == slow.errors
    assert fast.nodes.keys() == slow.nodes.keys()
    for path, node in slow.nodes.items():
        if not isinstance(node, yaml.ScalarNode):
            continue
        other = fast.nodes[path]
        for offset in range(len(str(node.value)) + 1):
            want = yamlpos.offset_loc(node, str(node.value), offset, slow.text)
            assert yamlpos.offset_loc(other, str(other.value), offset, fast.text) == want, (
                path,
                offset,
            )


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_both_parsers_same_document(name, monkeypatch):
    text = TEXTS[name]
    try:
        fast = yamlpos.load(text)
    except yamlpos.YamlError:  # a syntax error: the next test
        return
    with monkeypatch.context() as m:
        m.setattr(yamlpos, "_FAST", None)
        slow = yamlpos.load(text)
    _same(fast, slow)


def test_syntax_error_message_is_the_pure_python_one(monkeypatch):
    text = GOOD.replace("title: Broken", "title: [Broken")
    with pytest.raises(yamlpos.YamlError) as fast:
        yamlpos.load(text)
    monkeypatch.setattr(yamlpos, "_FAST", None)
    with pytest.raises(yamlpos.YamlError) as slow:
        yamlpos.load(text)
    assert (fast.value.loc, fast.value.message) == (slow.value.loc, slow.value.message)


@pytest.mark.parametrize("name", sorted(CASES))
def test_lint_positions_without_libyaml(tmp_path, name, monkeypatch):
    """The lint cases' exact positions hold on the pure-Python path as well."""
    monkeypatch.setattr(yamlpos, "_FAST", None)
    text, want = CASES[name]
    path = tmp_path / "rule.yaml"
    path.write_text(text, encoding="utf-8")
    got = [(p.line, p.col, p.message) for p in lint([path], with_bundled=False)]
    assert got == want


def test_bundled_rules_load_the_same(monkeypatch):
    fast = load_rules()
    monkeypatch.setattr(yamlpos, "_FAST", None)
    slow = load_rules()
    assert [(r.id, r.condition, r.where, r.message) for r in fast.rules] == [
        (r.id, r.condition, r.where, r.message) for r in slow.rules
    ]


_scalar = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True),
                       st.one_of(_scalar, st.lists(_scalar, max_size=3), st.integers()),
                       max_size=5),  # fmt: skip
       st.sampled_from(["block", "flow"]))  # fmt: skip
def test_any_mapping_same_positions(data, style):
    """Random documents as PyYAML writes them (quoted, folded, escaped): same positions."""
    text = yaml.safe_dump(data, default_flow_style=style == "flow", allow_unicode=True, width=20)
    fast = yamlpos.load(text)
    saved = yamlpos._FAST
    yamlpos._FAST = None
    try:
        slow = yamlpos.load(text)
    finally:
        yamlpos._FAST = saved
    _same(fast, slow)
