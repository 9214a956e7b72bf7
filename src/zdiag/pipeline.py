"""The flow from input paths to a TableSet: sources → decode → detect → parse → tables.

Every file yields a row of the ``files`` table, whatever happens to it; a problem with one
file (unreadable, binary, unknown kind, a parser bug) is recorded there and the run goes on.
"""

from __future__ import annotations

import hashlib
import os
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from zdiag import stream
from zdiag.analysis.tcp import add_to_tables as add_tcp_analysis
from zdiag.decode import Lines, decode
from zdiag.kinds import registry
from zdiag.kinds.base import FAILURES, Accounting, InputError, Kind
from zdiag.sources import Source, iter_sources
from zdiag.tables import STR, TableSet, conform


@dataclass
class FileResult:
    file_row: dict
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    unrecognised: pd.DataFrame | None = None
    traceback: str | None = None


def _premark(lines: list[str] | Lines, acct: Accounting) -> None:
    if isinstance(lines, Lines):  # vectorised; [\s\x1c-\x1f] is what str.strip() removes
        s = lines.series
        mask = s.str.contains(r"^[\s\x1c-\x1f]*$") | s.str.starts_with("#zdiag-sample")
        acct.layout(mask.arg_true().to_numpy())
        return
    idx = [i for i, ln in enumerate(lines) if not ln.strip() or ln.startswith("#zdiag-sample")]
    acct.layout(idx)


def takes_series(k: Kind | None) -> bool:
    """Whether a kind's parser accepts :class:`~zdiag.decode.Lines` (declared in ``extra``)."""
    return k is not None and k.extra.get("lines") == "series"


def _repeat_str(value: str, n: int):
    """``n`` copies of one string as an Arrow-backed array (no list of ``n`` objects)."""
    import numpy as np
    import pyarrow as pa

    arr = pa.array([value], type=pa.large_string()).take(np.zeros(n, dtype=np.int64))
    return pd.array(arr, dtype=STR)


def _provenance(df: pd.DataFrame, case: str, source: str) -> pd.DataFrame:
    df = df.reset_index(drop=True)
    n = len(df)
    if "line" not in df.columns:
        df.insert(0, "line", pd.array([pd.NA] * n, dtype="Int64"))
    cols = {"case": _repeat_str(case, n), "source": _repeat_str(source, n), "line": df["line"]}
    cols.update((c, df[c]) for c in df.columns if c not in cols)
    return pd.DataFrame(cols)


def parse_source(src: Source, kind: str | None = None, case: str = "", spill=None) -> FileResult:
    """Parse one input; never raises for bad input or a parser failure. With a
    :class:`zdiag.spill.Spill`, a large file's packets go to it instead of into memory."""
    t0 = time.perf_counter()
    row: dict = {"case": case, "source": src.name, "kind": "", "encoding": "", "lines": 0,
                 "parsed": 0, "layout": 0, "unrecognised": 0, "bytes": src.size,
                 "sha256": None, "seconds": 0.0, "error": None, "error_line": None,
                 "notes": None}  # fmt: skip
    result = FileResult(row)

    def done() -> FileResult:
        row["seconds"] = round(time.perf_counter() - t0, 6)
        return result

    if src.error:
        row["kind"], row["error"] = "unknown", src.error
        return done()
    sk, in_pieces = stream.should_stream(src, kind)
    if in_pieces:  # a large file of a kind that can be cut: read and parse it in pieces
        try:
            return stream.parse_source_chunked(src, sk, case, spill=spill)
        except OSError as exc:
            row["kind"], row["error"] = "unknown", f"cannot read: {exc}"
            return done()
        except FAILURES as exc:  # a bug must not stop the batch
            row["kind"] = sk.name
            row["error"] = f"{sk.name} parser failed: {type(exc).__name__}: {exc}"
            result.traceback = traceback.format_exc()
            return done()
    try:
        data = src.read()
    except OSError as exc:
        row["kind"], row["error"] = "unknown", f"cannot read: {exc}"
        return done()
    row["bytes"] = len(data)
    row["sha256"] = hashlib.sha256(data).hexdigest()

    k: Kind | None = registry.get(kind) if kind else registry.detect_bytes(data[:64])
    if k is not None and k.parse_bytes is not None:
        row["kind"], row["encoding"] = k.name, "binary"
        try:
            tables, acct = k.parse_bytes(data)
        except InputError as exc:
            row["error"], row["error_line"] = str(exc), exc.line
            return done()
        except FAILURES as exc:  # a parser bug must not stop the batch
            row["error"] = f"{k.name} parser failed: {type(exc).__name__}: {exc}"
            result.traceback = traceback.format_exc()
            return done()
        return _finish(result, k, tables, acct, [], case, src.name, done)

    # plain UTF-8 is split into lines by Arrow (no Python string per line until a kind that
    # works on a list asks for one); blank lines are found on that column too
    dec = decode(data, series=True)
    row["encoding"] = dec.encoding
    notes = list(dec.notes)
    if dec.asa:
        notes.append("ASA carriage-control column removed")
    if dec.error:
        row["kind"] = k.name if k else "unknown"
        row["error"], row["error_line"] = dec.error, dec.error_line
        row["notes"] = "; ".join(notes) or None
        return done()
    lines = dec.lines
    if k is None:
        k, _score = registry.detect_lines(lines)
    acct = Accounting(len(lines))
    _premark(lines, acct)
    if isinstance(lines, Lines) and not takes_series(k):
        lines = lines.tolist()
    premarked = int((acct.status != 0).sum())
    row["lines"] = len(lines)
    if k is None or k.parse is None:
        reason = "not a report kind zdiag reads (see `zdiag kinds`); skipped"
        return _skip_unknown(result, lines, acct, reason, notes, case, src.name, done)
    row["kind"] = k.name
    try:
        tables = k.parse(lines, acct)
    except FAILURES as exc:  # a parser bug must not stop the batch
        row["error"] = f"{k.name} parser failed: {type(exc).__name__}: {exc}"
        result.traceback = traceback.format_exc()
        acct.claim_rest(f"{k.name} parser failed")
        tables = {}
    if kind is None and not row["error"] and not _recognised_anything(acct, premarked, tables):
        # the detector liked some words, but no line has the kind's layout (a JSON or
        # e-mail quoting a report, say): the file is not that report
        reason = f"looks like {k.name} but no line has its layout; skipped"
        fresh = Accounting(len(lines))
        _premark(lines, fresh)
        return _skip_unknown(result, lines, fresh, reason, notes, case, src.name, done)
    if lines and not data.endswith((b"\n", b"\x15", b"\x25")):
        last = len(lines) - 1
        if acct.status[last] in (0, 3) and lines[last].strip():
            notes.append(f"truncated: line {last + 1} ends without a line end and is incomplete")
            acct.unrecognised(last, "incomplete last line (file truncated?)")
            row["error_line"] = last + 1
    row["notes"] = "; ".join(notes) or None
    return _finish(result, k, tables, acct, lines, case, src.name, done)


def _recognised_anything(acct: Accounting, premarked: int, tables: dict) -> bool:
    """Whether a detected kind found any of its own layout (a kind given with --kind is
    taken at its word)."""
    c = acct.counts()
    rows = any(len(df) for df in tables.values() if df is not None)
    return rows or c["parsed"] > 0 or c["layout"] > premarked


def _skip_unknown(result, lines, acct, reason, notes, case, source, done) -> FileResult:
    """Record a file no kind reads: counted, one unrecognised row, no tables."""
    row = result.file_row
    row["kind"], row["error"] = "unknown", reason
    acct.claim_rest("unknown report kind: file skipped")
    row.update(acct.counts())
    first = next((i for i, ln in enumerate(lines) if ln.strip()), 0)
    result.unrecognised = _provenance(
        pd.DataFrame(
            {
                "line": pd.array([first + 1], dtype="Int64"),
                "text": pd.array([lines[first][:200] if lines else ""], dtype=STR),
                "reason": pd.array([reason], dtype=STR),
            }
        ),
        case,
        source,
    )
    row["notes"] = "; ".join(notes) or None
    return done()


def _finish(result, k, tables, acct, lines, case, source, done) -> FileResult:
    row = result.file_row
    acct.claim_rest(f"not recognised as part of a {k.name} report")
    row.update(acct.counts())
    row["lines"] = len(acct)
    result.tables = {name: _provenance(df, case, source) for name, df in tables.items()}
    result.unrecognised = _provenance(acct.unrecognised_frame(lines), case, source)
    return done()


def _as_paths(paths) -> list:
    if isinstance(paths, str | os.PathLike):
        return [paths]
    return list(paths)


def parse_sources(sources: Iterable[Source], kind: str | None = None, case: str = "",
                  spill=None):  # fmt: skip
    """Yield a FileResult per source (see :func:`parse_source` for ``spill``)."""
    for src in sources:
        yield parse_source(src, kind=kind, case=case, spill=spill)


def collect(results: Iterable[FileResult], spill=None) -> TableSet:
    """One TableSet of every file's tables, with zdiag's TCP analysis.

    When large files' big tables went to ``spill``, the other files' rows of those tables
    join them there, the TableSet holds the rest and carries the spill (``TableSet.spill``);
    the packets' analysis then runs a bucket at a time in
    :func:`zdiag.rules.scan.scan_tables`."""
    parts: dict[str, list[pd.DataFrame]] = {"files": [], "unrecognised": []}
    for res in results:
        parts["files"].append(pd.DataFrame([res.file_row]))
        if res.unrecognised is not None and len(res.unrecognised):
            parts["unrecognised"].append(res.unrecognised)
        for name, df in res.tables.items():
            parts.setdefault(name, []).append(df)
    if spill is not None and spill.tables:
        for name in spill.tables:  # the small files' rows join the large ones' on disk
            for df in parts.pop(name, []):
                spill.write(name, conform(name, df), whole=True)
        tables = dict(TableSet.concat(parts))
        if "packets" in tables:  # in memory (only other tables spilled): analysed here
            tables = add_tcp_analysis(tables)
        out = TableSet(tables)
        out.spill = spill
        return out
    return TableSet(add_tcp_analysis(dict(TableSet.concat(parts))))


def parse(paths, kind: str | None = None, case: str = "") -> TableSet:
    """Parse every file below ``paths`` into one TableSet (tables by name)."""
    return collect(parse_sources(iter_sources(_as_paths(paths)), kind=kind, case=case))
