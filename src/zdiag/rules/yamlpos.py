"""YAML with positions: a safe compose (no object construction from tags) into plain values,
keeping for every value and every mapping key its 1-based line and column, so that schema and
lint errors can be reported as ``file:line:col: message``."""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml


@dataclass
class Loc:
    line: int
    col: int


@dataclass
class Located:
    """A loaded YAML document: ``value`` (plain dict/list/str/...) and positions by path."""

    value: object
    values: dict[tuple, Loc] = field(default_factory=dict)
    keys: dict[tuple, Loc] = field(default_factory=dict)
    nodes: dict[tuple, yaml.Node] = field(default_factory=dict)
    errors: list[tuple[Loc, str]] = field(default_factory=list)
    #: the source text (libyaml's marks carry no buffer: :func:`offset_loc` reads this)
    text: str = ""

    def at(self, path: tuple) -> Loc:
        """Position of the value at ``path``, or of its nearest ancestor."""
        path = tuple(path)
        while path and path not in self.values:
            path = path[:-1]
        return self.values.get(path, Loc(1, 1))

    def key_at(self, path: tuple) -> Loc:
        return self.keys.get(tuple(path)) or self.at(path)


class YamlError(ValueError):
    def __init__(self, loc: Loc, message: str):
        super().__init__(message)
        self.loc, self.message = loc, message


def _loc(mark) -> Loc:
    return Loc(mark.line + 1, mark.column + 1)


#: libyaml's parser where PyYAML was built with it (an order of magnitude faster than the
#: pure-Python one; the same nodes, line and column); None where it is not
_FAST = getattr(yaml, "CSafeLoader", None)


def _compose(text: str):
    if _FAST is not None:
        try:
            return yaml.compose(text, Loader=_FAST)
        except yaml.YAMLError:
            pass  # the pure-Python parser again: its error messages are the ones we report
    return yaml.compose(text, Loader=yaml.SafeLoader)


def load(text: str) -> Located:
    """Compose ``text`` (libyaml where present, else PyYAML's SafeLoader; never an object
    from a tag) and build plain values with positions."""
    try:
        node = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = _loc(mark) if mark is not None else Loc(1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlError(loc, f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise YamlError(Loc(1, 1), f"YAML error: {exc}") from None
    doc = Located(None, text=text)
    if node is None:
        doc.value = None
        return doc
    constructor = yaml.SafeLoader("")  # only for scalar resolution (int, bool, null, ...)
    doc.value = _build(node, (), doc, constructor)
    return doc


def _build(node, path: tuple, doc: Located, ctor):
    doc.values[path] = _loc(node.start_mark)
    doc.nodes[path] = node
    if isinstance(node, yaml.MappingNode):
        out = {}
        for knode, vnode in node.value:
            # keys are names: take their text as written (YAML 1.1 would read `on:` as True)
            if not isinstance(knode, yaml.ScalarNode) or not knode.value:
                doc.errors.append((_loc(knode.start_mark), "mapping keys must be plain text"))
                continue
            key = str(knode.value)
            if key in out:
                doc.errors.append((_loc(knode.start_mark), f"duplicate key {key!r}"))
                continue
            doc.keys[path + (key,)] = _loc(knode.start_mark)
            out[key] = _build(vnode, path + (key,), doc, ctor)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(v, path + (i,), doc, ctor) for i, v in enumerate(node.value)]
    try:
        return ctor.construct_object(node)
    except yaml.YAMLError as exc:
        doc.errors.append((_loc(node.start_mark), f"bad value: {exc}"))
        return node.value


def offset_loc(node: yaml.Node, text_value: str, offset: int, text: str = "") -> Loc:
    """Where character ``offset`` of a scalar's value sits in the file (best effort);
    ``text``: the file's text, for a node whose marks carry none (libyaml's).

    Exact for plain and quoted scalars on one line (without escapes before the offset) and
    for literal (``|``) block scalars; for folded or multi-line flow scalars the position of
    the line holding the character is estimated from the source text."""
    start = _loc(node.start_mark)
    style = getattr(node, "style", None)
    if style in (None, "", "'", '"'):
        quote = 1 if style in ("'", '"') else 0
        if node.start_mark.line == node.end_mark.line:
            return Loc(start.line, start.col + quote + offset)
        return _flow_multiline(node, offset, quote, text)
    if style in ("|", ">"):
        buf = _buffer(node, text)
        if buf is None:
            return Loc(start.line + 1, start.col)
        lines = buf.splitlines()
        # content starts on the line after the indicator
        first = node.start_mark.line + 1
        indent = None
        remaining = offset
        for ln in range(first, min(len(lines), node.end_mark.line + 1)):
            raw = lines[ln].rstrip("\0")
            if not raw.strip():
                continue
            if indent is None:
                indent = len(raw) - len(raw.lstrip(" "))
            content = raw[indent:]
            if remaining <= len(content):
                return Loc(ln + 1, indent + remaining + 1)
            remaining -= len(content) + 1
        return Loc(start.line + 1, start.col)
    return start


def _buffer(node: yaml.Node, text: str) -> str | None:
    buf = getattr(node.start_mark, "buffer", None)
    return buf if buf is not None else (text or None)


def _flow_multiline(node: yaml.Node, offset: int, quote: int, text: str = "") -> Loc:
    """A plain or quoted scalar folded over several lines: line breaks and the indentation
    that follows them fold into one space, so walk the source lines consuming the value."""
    start = _loc(node.start_mark)
    buf = _buffer(node, text)
    if buf is None:
        return start
    lines = buf.splitlines()
    first = node.start_mark.line
    remaining = offset
    for ln in range(first, min(len(lines), node.end_mark.line + 1)):
        raw = lines[ln].rstrip("\0")
        begin = node.start_mark.column + quote if ln == first else len(raw) - len(raw.lstrip())
        content = raw[begin:].rstrip()
        if remaining <= len(content):
            return Loc(ln + 1, begin + remaining + 1)
        remaining -= len(content) + 1  # the folded line break counts as one space
    return start
