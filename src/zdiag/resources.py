"""Where the shipped data lives: grammars/ and rules/.

In an installed wheel they are package data under ``zdiag/_data/``; in a source checkout
(tests run with ``src`` on the path) they are the top-level folders of the repository.
Both are reached through importlib.resources first, so a non-editable install never
depends on the checkout.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path


@cache
def data_dir(name: str) -> Path:
    """The folder ``name`` (``grammars`` or ``rules``) as shipped, or from the checkout."""
    packaged = resources.files("zdiag") / "_data" / name
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parents[2] / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"zdiag data folder {name!r} is missing from this installation")


def grammar_text(name: str) -> str:
    """The text of ``grammars/<name>.lark``."""
    return (data_dir("grammars") / f"{name}.lark").read_text(encoding="utf-8")


def grammar_path(name: str) -> Path:
    return data_dir("grammars") / f"{name}.lark"


def rules_dir() -> Path:
    return data_dir("rules")
