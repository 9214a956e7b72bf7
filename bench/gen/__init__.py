"""Seeded generators of realistic report text, one per report kind, registered by kind name.

A generator is ``write(path, size_bytes, seed) -> dict`` (facts about what it wrote: rows per
table, connections, ...). It must reproduce the real layout of the kind's samples under
``fixtures/`` (the samples are the only authority), vary the values, and be deterministic for
a given seed. Register with :func:`register`; ``bench/run.py`` measures every kind that has
both a generator and a registered zdiag kind.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Generator:
    kind: str  # zdiag kind name (zdiag.kinds.registry)
    write: Callable[..., dict]
    #: the grammar row rule of the per-row table the floor baseline extracts, if any
    row_grammar: str | None = None
    row_rule: str | None = None
    #: typed columns of the baseline's table: {column: "int" | "float" | "str"}
    row_types: dict | None = None
    #: whole-input Lark start rule for the naive baseline (10 MB only)
    lark_start: str | None = None


_GENERATORS: dict[str, Generator] = {}


def register(gen: Generator) -> Generator:
    _GENERATORS[gen.kind] = gen
    return gen


def all_generators() -> dict[str, Generator]:
    for mod in pkgutil.iter_modules(__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"{__name__}.{mod.name}")
    return dict(sorted(_GENERATORS.items()))
