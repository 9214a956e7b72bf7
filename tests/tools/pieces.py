"""Parse a file as the stream would cut a large one (small pieces), and compare with the
whole parse: the tables, and the file's accounting."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import zdiag
from zdiag import stream
from zdiag.kinds import registry

#: the ``files`` columns a parse in pieces must give as the whole parse does
ACCOUNTING = ["lines", "parsed", "layout", "unrecognised", "sha256", "error", "error_line"]


def parse_in_pieces(path: Path, kind: str, chunk: int):
    """``zdiag.parse`` of ``path`` cut into pieces of about ``chunk`` bytes."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(stream, "MIN_BYTES", 0)
        mp.setattr(stream, "CHUNK_BYTES", chunk)
        mp.setattr(stream, "HEAD_BYTES", max(chunk, 4096))
        return zdiag.parse([path], kind=kind)


def pieces(path: Path, kind: str, chunk: int) -> list[bytes]:
    """The pieces the stream cuts ``path`` into."""
    marker = registry.get(kind).extra["chunk_marker"]
    with open(path, "rb") as fh:
        return list(stream.iter_pieces(fh.read, marker, chunk))


def assert_same_parse(whole, parts) -> None:
    """Every table equal (rows, order, dtypes) and the same accounting."""
    assert sorted(whole) == sorted(parts)
    for name in whole:
        if name != "files":
            pd.testing.assert_frame_equal(whole[name], parts[name], obj=name)
    assert whole["files"][ACCOUNTING].equals(parts["files"][ACCOUNTING])


def assert_text_in_pieces_equals_whole(folder: Path, text: str, kind: str, chunk: int) -> None:
    """``text`` as a file parsed whole and in pieces of about ``chunk`` bytes: the same."""
    path = Path(folder) / "report.txt"
    path.write_text(text, encoding="utf-8")
    assert_same_parse(zdiag.parse([path], kind=kind), parse_in_pieces(path, kind, chunk))
