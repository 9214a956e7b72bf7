"""zdiag: z/OS Communications Server diagnosis reports into DataFrames, and rules over them."""

from __future__ import annotations

__version__ = "0.1.0"

from zdiag.pipeline import parse  # noqa: E402
from zdiag.rules import ScanResult, load_rules, scan  # noqa: E402

__all__ = ["__version__", "parse", "scan", "load_rules", "ScanResult"]
