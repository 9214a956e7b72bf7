"""What every report kind shares: line accounting and the Kind record.

Line accounting is a value: a parser marks each line parsed, layout (headings, rulers,
blank lines, comments) or unrecognised (with a reason). Whatever a parser leaves unmarked
is counted as unrecognised by the pipeline, so no line can be silently dropped and
``parsed + layout + unrecognised == lines`` holds by construction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

UNMARKED, PARSED, LAYOUT, UNRECOGNISED = 0, 1, 2, 3


try:  # polars turns a Rust panic into pyo3's PanicException, a BaseException
    from polars.exceptions import PanicException
except ImportError:  # pragma: no cover - an old polars
    PanicException = Exception  # type: ignore[assignment,misc]

#: what a parser or a rule may raise on odd input without stopping the other files, rules or
#: cases: any Exception, and a panic inside polars (which is no Exception)
FAILURES = (Exception, PanicException)


class InputError(Exception):
    """Bad input a parser cannot read at all (not a bug): recorded as the file's error with
    its line (or record) number, without a traceback."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


class Accounting:
    """Per-line status of one file (0-based indexes; reported 1-based)."""

    def __init__(self, n_lines: int):
        self.status = np.zeros(n_lines, dtype=np.int8)
        self.reasons: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self.status)

    def _idx(self, idx) -> np.ndarray | int:
        if isinstance(idx, pd.Series):
            return idx.to_numpy()
        return idx

    def parsed(self, idx) -> None:
        self.status[self._idx(idx)] = PARSED

    def layout(self, idx) -> None:
        self.status[self._idx(idx)] = LAYOUT

    def unrecognised(self, idx: int | Iterable[int], reason: str) -> None:
        idxs = [idx] if isinstance(idx, int | np.integer) else list(self._idx(idx))
        for i in idxs:
            self.status[i] = UNRECOGNISED
            self.reasons[int(i)] = reason

    def unmarked(self) -> np.ndarray:
        return np.flatnonzero(self.status == UNMARKED)

    def claim_rest(self, reason: str) -> None:
        """Every line not yet marked becomes unrecognised with ``reason``."""
        rest = self.unmarked()
        if len(rest):
            self.status[rest] = UNRECOGNISED
            for i in rest:
                self.reasons.setdefault(int(i), reason)

    def counts(self) -> dict[str, int]:
        c = np.bincount(self.status, minlength=4)
        return {"parsed": int(c[PARSED]), "layout": int(c[LAYOUT]),
                "unrecognised": int(c[UNRECOGNISED] + c[UNMARKED])}  # fmt: skip

    def unrecognised_frame(self, lines: Sequence[str], limit: int | None = None) -> pd.DataFrame:
        idx = np.flatnonzero((self.status == UNRECOGNISED) | (self.status == UNMARKED))
        if limit is not None:
            idx = idx[:limit]
        series = getattr(lines, "series", None)  # zdiag.decode.Lines: gather, no loop
        if series is not None:
            inside = idx[idx < len(series)]
            got = series.gather(inside).to_list() + [""] * (len(idx) - len(inside))
            text = pd.array(got, dtype=pd.StringDtype("pyarrow"))
        else:
            text = pd.array([lines[i] if i < len(lines) else "" for i in idx],
                            dtype=pd.StringDtype("pyarrow"))  # fmt: skip
        return pd.DataFrame(
            {
                "line": pd.array(idx + 1, dtype="Int64"),
                "text": text,
                "reason": pd.array([self.reasons.get(int(i), "not recognised") for i in idx],
                                   dtype=pd.StringDtype("pyarrow")),
            }
        )  # fmt: skip


#: parse(lines, accounting) -> {table name: DataFrame with a 1-based ``line`` column}
TextParser = Callable[[list[str], Accounting], dict[str, pd.DataFrame]]
#: parse_bytes(data, accounting_factory) for binary kinds (pcap): returns tables and accounting
BytesParser = Callable[[bytes], tuple[dict[str, pd.DataFrame], Accounting]]


@dataclass(frozen=True)
class Kind:
    """A report kind: how to recognise it, how to parse it, what it produces."""

    name: str
    description: str
    tables: tuple[str, ...]
    #: score 0..1 from the first lines (comments removed); the best score over 0 wins
    detect: Callable[[list[str]], float] | None = None
    parse: TextParser | None = None
    grammar: str | None = None
    samples: tuple[str, ...] = ()
    #: binary kinds are recognised from the first bytes and parsed from bytes
    detect_bytes: Callable[[bytes], bool] | None = None
    parse_bytes: BytesParser | None = None
    #: which path the hot part of the parse takes (documented by `zdiag kinds --verbose`)
    path: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False)


def null_array(dtype, n: int):
    """``n`` missing values of a pandas nullable dtype, built from buffers (a list of ``n``
    Nones costs ~0.3 µs a row on the hot path)."""
    import pyarrow as pa

    if str(dtype) == "Int64":
        return pd.arrays.IntegerArray(np.zeros(n, np.int64), np.ones(n, bool))
    if str(dtype) == "Float64":
        return pd.arrays.FloatingArray(np.zeros(n), np.ones(n, bool))
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        return pd.array(pa.nulls(n, pa.large_string()), dtype=dtype)
    return pd.array([None] * n, dtype=dtype)
