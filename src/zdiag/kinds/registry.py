"""The kind registry: name → Kind. Each module in ``zdiag.kinds`` registers its kinds.

Detection is by content only (never by file name): every text kind's detector scores the
first lines of a file and the best score wins; binary kinds look at the first bytes.
"""

from __future__ import annotations

import importlib
import pkgutil

from zdiag.kinds.base import Kind

_KINDS: dict[str, Kind] = {}
_LOADED = False

#: how many leading lines (comments removed) a detector sees
DETECT_LINES = 400
#: a score at or below this is "not this kind"
MIN_SCORE = 0.3


def register(kind: Kind) -> Kind:
    if kind.name in _KINDS and _KINDS[kind.name] is not kind:
        raise ValueError(f"report kind {kind.name!r} registered twice")
    _KINDS[kind.name] = kind
    return kind


def _load() -> None:
    global _LOADED
    if _LOADED:
        return
    import zdiag.kinds as pkg

    for mod in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if mod.name not in ("base", "registry") and not mod.name.startswith("_"):
            importlib.import_module(f"zdiag.kinds.{mod.name}")
    _LOADED = True


def all_kinds() -> list[Kind]:
    _load()
    return [_KINDS[k] for k in sorted(_KINDS)]


def get(name: str) -> Kind:
    _load()
    try:
        return _KINDS[name]
    except KeyError:
        raise KeyError(f"unknown report kind {name!r}; `zdiag kinds` lists them") from None


def detect_lines(lines: list[str]) -> tuple[Kind | None, float]:
    """The best-scoring text kind for these lines, or None."""
    _load()
    head = [ln for ln in lines[: DETECT_LINES * 2] if not ln.startswith("#zdiag-sample")]
    head = head[:DETECT_LINES]
    best, best_score = None, MIN_SCORE
    for kind in all_kinds():
        if kind.detect is None:
            continue
        score = kind.detect(head)
        if score > best_score:
            best, best_score = kind, score
    return best, (best_score if best else 0.0)


def detect_bytes(head: bytes) -> Kind | None:
    for kind in all_kinds():
        if kind.detect_bytes is not None and kind.detect_bytes(head):
            return kind
    return None
