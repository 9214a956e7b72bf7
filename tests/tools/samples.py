"""Reading fixture samples and parsing a text the way a user's file would be parsed."""

from __future__ import annotations

from pathlib import Path

import zdiag


def sample_lines(path: Path) -> list[str]:
    """A fixture's lines without its ``#zdiag-sample`` provenance header."""
    text = Path(path).read_text(encoding="utf-8")
    return [ln for ln in text.splitlines() if not ln.startswith("#zdiag-sample")]


def parse_text(tmp_path: Path, text: str, name: str = "in.txt"):
    """Write ``text`` to a file under ``tmp_path`` and parse it with detection."""
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return zdiag.parse([p])
