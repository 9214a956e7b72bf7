"""zdiag: z/OS Communications Server diagnosis reports into DataFrames, and rules over them."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "parse", "scan", "load_rules", "ScanResult"]


def __getattr__(name: str):
    # imported on first use, so that parsing alone (zdiag.stream, the benchmark, a batch
    # worker) does not pay for the rules engine's imports (Lark, jsonschema, yaml)
    if name == "parse":
        from zdiag.pipeline import parse

        return parse
    if name in ("scan", "load_rules", "ScanResult"):
        from zdiag import rules

        return getattr(rules, name)
    raise AttributeError(f"module 'zdiag' has no attribute {name!r}")
