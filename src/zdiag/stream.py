"""Large reports in pieces: read, decode and parse a file a few MB at a time.

A kind opts in by declaring, in ``Kind.extra``:

- ``chunk_marker``: bytes that start a line where the report may be cut (for
  ``systcpda.session`` the ``Local Ip Address:`` line that opens a connection block, so
  every piece after the first starts with a whole block);
- ``parse_chunk(lines, acct, state) -> (tables, state)``: its parser for one piece, with the
  ``state`` it carries from piece to piece (see the kind's docstring).

Pieces are cut only at such a line, so line numbers stay those of the file (each piece's
``line`` columns and accounting are shifted by the lines before it). The file's bytes are
never all in memory when it is read from disk; :func:`parse_source_stream` yields one
:class:`~zdiag.pipeline.FileResult` per piece so that a caller can write each piece's tables
out (to parquet) and drop them, which keeps memory bounded whatever the file size.
Encoding, ASA and binary checks are decided on the first piece for the whole file.
"""

from __future__ import annotations

import hashlib
import re
import time
import traceback
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pandas as pd
import polars as pl

from zdiag.decode import Decoded, Lines, _fast_lines, _finish_lines, decode
from zdiag.kinds import registry
from zdiag.kinds.base import FAILURES, Accounting, Kind
from zdiag.sources import Source

#: target size of one piece (a piece ends at the first cut point after this many bytes)
CHUNK_BYTES = 16 * 1024 * 1024
#: files up to this size are parsed whole (the ordinary path)
MIN_BYTES = 48 * 1024 * 1024
#: bytes of the head used to recognise the kind before deciding to stream
HEAD_BYTES = 1024 * 1024


def chunkable(k: Kind | None) -> bool:
    return k is not None and bool(k.extra.get("chunk_marker")) and "parse_chunk" in k.extra


def _cut(buf: bytes, marker: bytes | re.Pattern, start: int) -> int:
    """Offset of the first line at or after ``start`` that begins (after blanks) with
    ``marker``; -1 when there is none. ``marker`` may also be a compiled bytes pattern
    (``re.MULTILINE``, anchored with ``^``) or any object with such a ``search(buf, pos)``
    method (returning None or a match with ``start()``): the first line it finds is the cut."""
    if not isinstance(marker, bytes):
        return _cut_re(buf, marker, start)
    pos = buf.find(marker, start)
    while pos >= 0:
        ls = buf.rfind(b"\n", 0, pos) + 1
        if ls >= start and ls > 0 and not buf[ls:pos].strip(b" "):
            return ls
        pos = buf.find(marker, pos + 1)
    return -1


def _cut_re(buf: bytes, rx, start: int) -> int:
    """Start of the first line at or after ``start`` (> 0) where ``rx`` matches; -1 if none.
    A match that does not begin a line (``rx`` not anchored) is skipped."""
    m = rx.search(buf, max(start, 1))
    while m is not None:
        at = m.start()
        if buf[at - 1 : at] == b"\n":
            return at
        m = rx.search(buf, at + 1)
    return -1


def with_last(pieces: Iterator[bytes]) -> Iterator[tuple[bytes, bool]]:
    """(piece, is the last one)."""
    prev = None
    for piece in pieces:
        if prev is not None:
            yield prev, False
        prev = piece
    if prev is not None:
        yield prev, True


def iter_pieces(read, marker: bytes, size: int | None = None) -> Iterator[bytes]:
    """Cut a byte stream (``read(n)``) into pieces of about ``size`` bytes, each starting
    at a line that begins with ``marker`` (except the first).

    The unread rest lives in one growing ``bytearray`` (appends and front deletes happen in
    place), so each byte is copied once more, into the piece handed out."""
    size = size or CHUNK_BYTES
    buf = bytearray()
    eof = False
    while True:
        while not eof and len(buf) < size * 2:
            block = read(size)
            if not block:
                eof = True
                break
            buf += block
        at = _cut(buf, marker, size) if len(buf) > size else -1
        if at < 0 and not eof:
            at = _cut(buf, marker, max(1, len(buf) - size))  # a long stretch without a cut
            if at < 0:
                block = read(size)
                if block:
                    buf += block
                    continue
                eof = True
                continue
        if at < 0:
            if buf:
                yield bytes(buf)
            return
        with memoryview(buf) as view:
            piece = bytes(view[:at])
        del buf[:at]
        yield piece


def should_stream(src: Source, kind: str | None) -> tuple[Kind | None, bool]:
    """The kind (when known from the head) and whether ``src`` is parsed in pieces."""
    size = src.size or 0
    if src.error or src.path is None or size <= MIN_BYTES:
        return None, False
    try:
        with open(src.path, "rb") as fh:
            head = fh.read(HEAD_BYTES)
    except OSError:
        return None, False
    head = head[: head.rfind(b"\n") + 1] or head
    dec = decode(head, series=True)
    if dec.error or dec.asa or dec.encoding not in ("utf-8", "latin-1"):
        return None, False
    k = registry.get(kind) if kind else registry.detect_lines(dec.lines)[0]
    return k, chunkable(k)


def _decode_piece(piece: bytes) -> Decoded:
    """Decode a later piece of a text file already judged text, not ASA (no file checks)."""
    out = Decoded()
    if not any(c in piece for c in (b"\r", b"\t", b"\f", b"\x1f")):
        fast = _fast_lines(piece)
        if fast is not None:
            out.encoding, out.lines = "utf-8", fast
            return out
    try:
        text, out.encoding = piece.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, out.encoding = piece.decode("latin-1"), "latin-1"
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    # same clean-up as the whole-file path; the binary and ASA checks were made on piece 1
    return _finish_lines(out, lines, False, check_binary=False)


@dataclass
class _Piece:
    """One piece of a file: its bytes, decoded lines, accounting, and the kind's stateless
    preparation (``Kind.extra["prepare_chunk"]``), or the exception it raised."""

    data: bytes
    last: bool
    dec: Decoded
    lines: object = None
    acct: Accounting | None = None
    prepared: object = None


def _prepared(pieces: Iterator[tuple[bytes, bool]], k: Kind) -> Iterator[_Piece]:
    """Decode each piece, pre-mark its blank lines, and run the kind's ``prepare_chunk``."""
    from zdiag.pipeline import _premark, takes_series

    prepare = k.extra.get("prepare_chunk")
    for n, (data, last) in enumerate(pieces):
        dec = decode(data, series=True) if n == 0 else _decode_piece(data)
        p = _Piece(data, last, dec)
        if not dec.error:
            p.lines = dec.lines
            p.acct = Accounting(len(p.lines))
            _premark(p.lines, p.acct)
            if isinstance(p.lines, Lines) and not takes_series(k):
                p.lines = p.lines.tolist()
            if prepare is not None:
                try:
                    p.prepared = prepare(p.lines, p.acct)
                except FAILURES as exc:  # reported by the caller, as parse_chunk's would be
                    p.prepared = exc
        yield p
        if dec.error:
            return


def _ahead(items: Iterator, pool: ThreadPoolExecutor) -> Iterator:
    """``items``, each made on ``pool`` while the caller works on the one before: reading,
    decoding and the stateless part of parsing piece n+1 overlap the rest of piece n."""
    done = object()
    fut = pool.submit(next, items, done)
    while True:
        item = fut.result()
        if item is done:
            return
        fut = pool.submit(next, items, done)
        yield item


def parse_source_stream(src: Source, k: Kind, case: str = "", polars: bool = False) -> Iterator:
    """Parse a large text file piece by piece; yields a FileResult per piece.

    Every result shares one ``file_row`` (the ``files`` row), complete once the generator
    is exhausted. Tables and the ``unrecognised`` table carry the file's line numbers.
    With ``polars``, a kind whose ``parse_chunk`` honours ``state["polars"]`` may hand some
    tables back as polars frames (for :func:`parse_to_parquet`, which writes them with
    polars' own writer, without pandas); their provenance columns are added the same way.
    Reading, decoding and the kind's ``prepare_chunk`` of the next piece run on a second
    thread while this one is finished (:func:`_ahead`).
    """
    from zdiag.pipeline import FileResult, _provenance

    t0 = time.perf_counter()
    row: dict = {"case": case, "source": src.name, "kind": k.name, "encoding": "", "lines": 0,
                 "parsed": 0, "layout": 0, "unrecognised": 0, "bytes": 0, "sha256": None,
                 "seconds": 0.0, "error": None, "error_line": None, "notes": None}  # fmt: skip
    sha = hashlib.sha256()
    notes: list[str] = []
    encodings: list[str] = []
    state: dict = {}
    line0 = 0
    parse_chunk = k.extra["parse_chunk"]
    with open(src.path, "rb") as fh, ThreadPoolExecutor(1, thread_name_prefix="zdiag-read") as pool:
        pieces = _ahead(_prepared(with_last(iter_pieces(fh.read, k.extra["chunk_marker"])), k),
                        pool)  # fmt: skip
        for n, p in enumerate(pieces):
            sha.update(p.data)
            row["bytes"] += len(p.data)
            dec = p.dec
            if dec.error:  # only the first piece is checked, as a whole file would be
                row["error"], row["error_line"] = dec.error, dec.error_line
                yield FileResult(row)
                break
            if dec.encoding not in encodings:
                encodings.append(dec.encoding)
            notes.extend(f"lines {line0 + 1}-: {x}" if n else x for x in dec.notes)
            lines, acct = p.lines, p.acct
            res = FileResult(row)
            try:
                extra = {"polars": True} if polars else {}
                extra["last"] = p.last  # a kind may hold rows back until the last piece
                if p.prepared is not None:
                    if isinstance(p.prepared, BaseException):
                        raise p.prepared
                    extra["prepared"] = p.prepared
                tables, state = parse_chunk(lines, acct, {**state, "line0": line0, **extra})
            except FAILURES as exc:  # a parser bug must not stop the batch
                row["error"] = (
                    row["error"] or f"{k.name} parser failed: {type(exc).__name__}: {exc}"
                )
                res.traceback = "".join(traceback.format_exception(exc))
                acct.claim_rest(f"{k.name} parser failed")
                tables = {}
            if p.last and lines and not p.data.endswith(b"\n"):
                last = len(lines) - 1
                if acct.status[last] in (0, 3) and lines[last].strip():
                    notes.append(
                        f"truncated: line {line0 + last + 1} ends without a line end and is "
                        "incomplete"
                    )
                    acct.unrecognised(last, "incomplete last line (file truncated?)")
                    row["error_line"] = line0 + last + 1
            acct.claim_rest(f"not recognised as part of a {k.name} report")
            for key, v in acct.counts().items():
                row[key] += v
            res.tables = {name: _provenance_pl(df, case, src.name, line0)
                          if isinstance(df, pl.DataFrame)
                          else _shift(_provenance(df, case, src.name), line0)
                          for name, df in tables.items()}  # fmt: skip
            res.unrecognised = _shift(_provenance(acct.unrecognised_frame(lines), case, src.name),
                                      line0)  # fmt: skip
            line0 += len(lines)
            row["lines"] = line0
            yield res
    row["encoding"] = "+".join(encodings)
    row["sha256"] = sha.hexdigest() if row["error"] is None or row["bytes"] else None
    row["notes"] = "; ".join(notes) or None
    row["seconds"] = round(time.perf_counter() - t0, 6)


def _provenance_pl(df: pl.DataFrame, case: str, source: str, line0: int) -> pl.DataFrame:
    """``pipeline._provenance`` + :func:`_shift` for a polars frame."""
    line = pl.col("line") + line0 if "line" in df.columns else pl.lit(None, dtype=pl.Int64)
    return df.select(
        pl.lit(case, dtype=pl.String).alias("case"),
        pl.lit(source, dtype=pl.String).alias("source"),
        line.cast(pl.Int64).alias("line"),
        pl.exclude("line", "case", "source"),
    )


_ARROW_SCHEMAS: dict = {}
#: polars types a column beyond a table's schema may have and still be written by polars
#: (to_pandas gives each one pandas dtype, the one the pandas path would write)
_PLAIN = (pl.String, pl.Int64, pl.Float64, pl.Boolean, pl.Datetime("us"))


def _arrow_schema(name: str, df: pl.DataFrame | None = None):
    """The Arrow schema (with pandas metadata) that ``conform(name, df).to_parquet`` writes:
    the table's schema, and ``df``'s columns beyond it (None when one of those has a type
    other than :data:`_PLAIN`)."""
    extras = tuple((c, t) for c, t in (df.schema.items() if df is not None else ())
                   if c not in _base_names(name))  # fmt: skip
    if any(t not in _PLAIN for _, t in extras):
        return None
    key = (name, extras)
    if key not in _ARROW_SCHEMAS:
        import pyarrow as pa

        from zdiag.kinds.systcpda_session import to_pandas
        from zdiag.tables import conform, empty

        frame = empty(name)
        if extras:
            frame = conform(name, to_pandas(pl.DataFrame(schema=dict(extras))))
        _ARROW_SCHEMAS[key] = pa.Schema.from_pandas(frame, preserve_index=False)
    return _ARROW_SCHEMAS[key]


def _base_names(name: str) -> frozenset[str]:
    from zdiag.tables import PROVENANCE, SCHEMAS

    return frozenset(SCHEMAS.get(name, PROVENANCE))


def _schema_frame(name: str, df: pl.DataFrame) -> pl.DataFrame | None:
    """``df`` with the columns of ``name``'s schema in order (missing ones null, cast to the
    schema's types) and then its own further columns, or None when one of those has a type
    polars cannot write as the pandas path would."""
    schema = _arrow_schema(name, df)
    if schema is None:
        return None
    types = _POLARS_TYPES.get(schema)
    if types is None:
        import pyarrow as pa

        empty = pl.from_arrow(pa.Table.from_batches([], schema=schema))
        types = _POLARS_TYPES[schema] = dict(empty.schema)
    return df.select(
        pl.col(c).cast(t) if c in df.columns else pl.lit(None, dtype=t).alias(c)
        for c, t in types.items()
    )


_POLARS_TYPES: dict = {}


def _pandas_metadata(schema) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in (schema.metadata or {}).items()}


def _shift(df: pd.DataFrame, line0: int) -> pd.DataFrame:
    if line0 and "line" in df.columns and len(df):
        df["line"] = df["line"] + line0
    return df


def parse_source_chunked(src: Source, k: Kind, case: str = "", spill=None):
    """One FileResult for a large file parsed in pieces (tables joined).

    With a :class:`zdiag.spill.Spill`, the tables it takes (packets) are written to it piece
    by piece instead of being joined in memory, and the file's notes say so."""
    from zdiag.kinds.systcpda_session import to_pandas
    from zdiag.pipeline import FileResult

    parts: dict[str, list[pd.DataFrame]] = {}
    unrec: list[pd.DataFrame] = []
    stream = parse_source_stream(src, k, case, polars=spill is not None)
    spilled: dict[str, int] = {}
    if spill is not None:
        spill.plan(src.size or 0)
        stream = _spilled(stream, spill, spilled, to_pandas)
    results = list(_collect(stream, parts, unrec))
    row = results[0].file_row if results else {}
    if spilled:
        said = "; ".join(
            f"{name}: {n:,} rows kept on disk in {spill.nbuckets} buckets (read back a bucket at "
            "a time; reports carry the rows behind findings)"
            for name, n in spilled.items()
        )
        row["notes"] = f"{row['notes']}; {said}" if row.get("notes") else said
    out = FileResult(row)
    out.tables = {n: _in_line_order(pd.concat(f, ignore_index=True) if len(f) > 1 else f[0])
                  for n, f in parts.items()}  # fmt: skip
    nonempty = [u for u in unrec if len(u)]
    out.unrecognised = (
        pd.concat(nonempty, ignore_index=True) if nonempty else (unrec[0] if unrec else None)
    )
    out.traceback = next((r.traceback for r in results if r.traceback), None)
    return out


def _in_line_order(df: pd.DataFrame) -> pd.DataFrame:
    """A joined table in file order: a kind may hand a row to the piece where it ends (a
    JES2 message whose continuation lies beyond a cut), not the one where it starts."""
    if "line" not in df.columns or df["line"].is_monotonic_increasing:
        return df
    return df.sort_values("line", kind="stable", ignore_index=True)


def _spilled(stream, spill, counts: dict, to_pandas):
    """Pieces with the spill's tables written to it (and dropped), other polars tables (and
    pieces of a spilled table without rows) as pandas."""
    for res in stream:
        kept = {}
        # the order the file's tables first appear in, spilled or kept (the in-memory order)
        seen = spill.order.setdefault(str(res.file_row.get("source", "")), [])
        seen += [name for name in res.tables if name not in seen]
        for name, df in res.tables.items():
            # a piece without rows stays (empty) in memory, so that a table no piece has a
            # row of is listed as the in-memory run lists it (with no rows)
            if spill.wants(name) and len(df):
                spill.write(name, df)
                counts[name] = counts.get(name, 0) + len(df)
            else:
                kept[name] = to_pandas(df) if isinstance(df, pl.DataFrame) else df
        res.tables = kept
        yield res


def _collect(stream, parts, unrec):
    for res in stream:
        for name, df in res.tables.items():
            parts.setdefault(name, []).append(df)
        unrec.append(res.unrecognised)
        res.tables, res.unrecognised = {}, None
        yield res


def write_part(folder, name: str, df, part: int | None = None) -> int:
    """Write one part of table ``name`` (a pandas or polars frame) to
    ``folder/part-NNNNN.parquet`` (``part``, or the next free number), conformed to the
    table's schema so that ``pandas.read_parquet(folder)`` gives the table. Returns rows."""
    from pathlib import Path

    if df is None or not len(df):
        return 0
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if part is None:
        part = len(list(folder.glob("part-*.parquet")))
    path = folder / f"part-{part:05d}.parquet"
    if isinstance(df, pl.DataFrame):
        full = _schema_frame(name, df)
        if full is not None:  # polars' own writer (all cores), with the Arrow schema and
            # pandas metadata the pandas path writes, so pandas.read_parquet gives the same table
            schema = _arrow_schema(name, df)
            full.write_parquet(path, compression="snappy", arrow_schema=schema,
                               metadata=_pandas_metadata(schema))  # fmt: skip
            return len(df)
    import pyarrow.parquet as pq

    table, options = arrow_part(name, df)
    pq.write_table(table, path, **options)
    return len(df)


def arrow_part(name: str, df) -> tuple:
    """The Arrow table (pandas metadata included) and the parquet writer options with which
    :func:`write_part` writes ``df`` (pandas or polars), for a caller that writes it in
    slices (:meth:`zdiag.spill.Spill.write`: one file per bucket, conformed once)."""
    import pyarrow as pa

    from zdiag.kinds.systcpda_session import to_pandas
    from zdiag.tables import conform, conforms

    if isinstance(df, pl.DataFrame):
        full = _schema_frame(name, df)
        if full is not None:
            schema = _arrow_schema(name, df)
            table = full.to_arrow(compat_level=pl.CompatLevel.oldest())
            return pa.Table.from_arrays(table.columns, schema=schema), {"compression": "snappy"}
        df = to_pandas(df)  # a further column of another type: pandas decides its dtype
    if not conforms(name, df):
        df = conform(name, df)
    # dictionary-encode only text columns with few distinct values (case, direction, flags);
    # trying it on numbers and addresses costs more than it saves; min/max statistics for
    # numbers and times only (on text they cost a fifth of the encoding time)
    text = [c for c in df.columns if isinstance(df[c].dtype, pd.StringDtype)
            and df[c].iloc[:2000].nunique() <= 50]  # fmt: skip
    stats = [c for c in df.columns if not isinstance(df[c].dtype, pd.StringDtype)]
    table = pa.Table.from_pandas(df, preserve_index=False)
    return table, {"use_dictionary": text, "write_statistics": stats}


def write_slices(table, options: dict, paths_rows) -> None:
    """Write consecutive row slices of an :func:`arrow_part` table: ``(path, rows)`` each."""
    import pyarrow.parquet as pq

    at = 0
    for path, rows in paths_rows:
        pq.write_table(table.slice(at, rows), path, **options)
        at += rows


def parse_to_parquet(paths, outdir, kind: str | None = None, case: str = "") -> dict[str, int]:
    """Parse ``paths`` and write every table to ``outdir/<table>/part-NNNNN.parquet``.

    Large files are parsed in pieces and each piece's tables are written and dropped at
    once, so memory stays bounded by a piece, not by the file. Every part is conformed to
    the table's schema; ``pandas.read_parquet(outdir / table)`` reads a table back.
    Returns rows written per table.
    """
    from pathlib import Path

    from zdiag.pipeline import _as_paths, parse_source
    from zdiag.sources import iter_sources

    out = Path(outdir)
    counts: dict[str, int] = {}
    files: list[dict] = []

    def write(name: str, df) -> None:
        rows = write_part(out / name, name, df)
        if rows:
            counts[name] = counts.get(name, 0) + rows

    def write_all(tables: dict, unrec) -> None:
        for name, df in tables.items():
            write(name, df)
        write("unrecognised", unrec)

    # one piece's tables are written (parquet encoding releases the GIL) while the next
    # piece is parsed; at most one piece waits, so memory stays bounded by two pieces
    with ThreadPoolExecutor(1, thread_name_prefix="zdiag-write") as pool:
        pending = None
        for src in iter_sources(_as_paths(paths)):
            sk, in_pieces = should_stream(src, kind)
            results = (
                parse_source_stream(src, sk, case, polars=True)
                if in_pieces
                else [parse_source(src, kind, case)]
            )
            row = None
            for res in results:
                if pending is not None:
                    pending.result()
                pending = pool.submit(write_all, res.tables, res.unrecognised)
                row = res.file_row
            if row is not None:
                files.append(row)
        if pending is not None:
            pending.result()
    write("files", pd.DataFrame(files))
    return counts
