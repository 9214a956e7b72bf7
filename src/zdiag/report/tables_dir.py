"""Tables as parquet files in a folder (``zdiag scan --tables DIR``, ``parse --format parquet``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd


def parquet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Object columns (lists, dicts: findings' lines and evidence) stored as JSON text."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].map(lambda v: None if v is None else json.dumps(v, default=str))
    return out


def write_parquet_tables(tables: Mapping[str, pd.DataFrame], folder) -> list[Path]:
    """One ``<table>.parquet`` per table; returns the paths written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in tables.items():
        path = folder / f"{name}.parquet"
        tmp = path.with_name(path.name + ".tmp")
        parquet_safe(df).to_parquet(tmp, index=False)
        tmp.replace(path)
        written.append(path)
    return written


def write_tables_dir(tables: Mapping[str, pd.DataFrame], findings: pd.DataFrame, folder) -> None:
    """Every table and the findings as ``<table>.parquet``; a table kept on disk
    (``tables.spill``, see :mod:`zdiag.spill`) is written whole, a bucket at a time."""
    spill = getattr(tables, "spill", None)
    on_disk = set(spill.tables) if spill is not None else set()
    write_parquet_tables(
        {**{n: df for n, df in tables.items() if n not in on_disk}, "findings": findings}, folder
    )
    for name in sorted(on_disk):
        _write_spilled(spill, name, tables, Path(folder) / f"{name}.parquet")


def _write_spilled(spill, name: str, tables, path: Path) -> None:
    """A spilled table with zdiag's analysis columns (computed again per bucket, as the scan
    did), appended bucket by bucket to one parquet file."""
    from zdiag.analysis.tcp import add_to_tables as add_tcp_analysis

    context = {n: tables[n] for n in ("files",) if n in tables}
    append_parquet((add_tcp_analysis({**context, name: bucket})[name]
                    for bucket in spill.buckets(name)), path)  # fmt: skip


def append_parquet(frames: Iterable[pd.DataFrame], path: Path) -> bool:
    """Frames of one table appended to one parquet file (written to ``path.tmp``, renamed
    when complete); what :func:`write_parquet_tables` writes for their concatenation.
    Returns whether anything was written (no frame: no file)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tmp = path.with_name(path.name + ".tmp")
    writer = None
    try:
        for frame in frames:
            table = pa.Table.from_pandas(parquet_safe(frame), preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table.cast(writer.schema))
    finally:
        if writer is not None:
            writer.close()
    if writer is not None:
        tmp.replace(path)
    return writer is not None


class SpilledTable:
    """A table kept on disk (:mod:`zdiag.spill`), read back a piece at a time in the order
    the table has in memory: files in the order they were read, and within a file the rows
    of each piece as the parser gave them, a file read in pieces sorted by line as
    :func:`zdiag.stream.parse_source_chunked` sorts it (a row handed to a later piece is
    held back until the next piece starts past it, so memory stays near two pieces)."""

    def __init__(self, spill, name: str, order: Mapping[str, int], data: Path | None = None):
        self.spill, self.name, self.data = spill, name, data
        parts = spill.parts.get(name, [])
        self.rows = sum(p.rows for p in parts)
        self._parts = sorted(parts, key=lambda p: (order.get(p.source, len(order)), p.number))
        self._dtypes: dict | None = None

    def dtypes(self) -> dict:
        """The columns and dtypes of the whole table, as ``pandas.concat`` of the pieces
        makes them: every piece's columns in the order they first appear (a piece may have
        columns beyond the schema that others lack), a column some piece lacks widened to
        hold nulls. Read from the parts' parquet schemas only."""
        if self._dtypes is None:
            import pyarrow.parquet as pq

            base = self.data if self.data is not None else self.spill.root / self.name
            seen: dict = {}
            lacking: set = set()
            for part in self._parts:
                path = base / f"bucket-{part.buckets[0]:03d}" / f"part-{part.number:05d}.parquet"
                have = pq.read_schema(path).empty_table().to_pandas().dtypes
                lacking |= set(seen) - set(have.index)
                for col, dt in have.items():
                    if col not in seen:
                        if seen:
                            lacking.add(col)
                        seen[col] = dt
            for col in lacking:  # numpy ints become floats, numpy bools objects (NaN)
                kind = getattr(seen[col], "kind", "")
                if kind in "iu" and kind and not hasattr(seen[col], "na_value"):
                    seen[col] = np.dtype("float64")
                elif kind == "b" and isinstance(seen[col], np.dtype):
                    seen[col] = np.dtype(object)
            self._dtypes = seen
        return self._dtypes

    def _complete(self, df: pd.DataFrame) -> pd.DataFrame:
        """A piece with every column of the table, in its order and dtypes."""
        dtypes = self.dtypes()
        if list(df.columns) == list(dtypes) and all(df[c].dtype == t for c, t in dtypes.items()):
            return df
        cols = {}
        for col, dt in dtypes.items():
            if col in df.columns:
                cols[col] = df[col] if df[col].dtype == dt else df[col].astype(dt)
            else:
                cols[col] = pd.Series(None, index=df.index, dtype=dt)
        return pd.DataFrame(cols, index=df.index)

    def __len__(self) -> int:
        return self.rows

    def frames(self) -> Iterator[pd.DataFrame]:
        pending: pd.DataFrame | None = None
        source = None
        for part in self._parts:
            df = self._complete(self.spill.piece(self.name, part.number, self.data))
            if part.source != source and pending is not None:
                yield _in_line_order(pending)
                pending = None
            source = part.source
            if part.whole or "line" not in df.columns:  # a whole file's table: as it was parsed
                yield df
                continue
            if pending is None:
                pending = df
                continue
            lines = pending["line"]
            if (
                lines.is_monotonic_increasing
                and not lines.hasnans
                and (df["line"].min() > lines.iloc[-1])
            ):
                yield pending
                pending = df
                continue
            # rows out of line order: what comes before the new piece's first line is done
            both = _in_line_order(pd.concat([pending, df], ignore_index=True))
            done = (both["line"] < df["line"].min()).fillna(False).to_numpy()
            if done.any():
                yield both[done].reset_index(drop=True)
            pending = both[~done].reset_index(drop=True)
        if pending is not None:
            yield _in_line_order(pending)

    def datetime_pins(self) -> dict[str, pd.Timestamp]:
        """Per date-time column, a value as fine as the column's finest (pandas writes a
        whole column's date-times at the precision the finest needs, and as dates when all
        are midnights); read from the date-time columns only."""
        import pyarrow.parquet as pq

        first = next(iter(sorted(self.spill.root.joinpath(self.name).rglob("part-*.parquet"))))
        schema = pq.read_schema(first)
        from zdiag.tables import SCHEMAS

        # (the schema's columns, which every part has)
        cols = [f.name for f in schema if str(f.type).startswith("timestamp")
                and f.name in SCHEMAS.get(self.name, {})]  # fmt: skip
        if not cols:
            return {}
        found = {c: [True, 0] for c in cols}  # all midnights; finest: 0 s, 1 ms, 2 us, 3 ns
        for b in range(max(self.spill.nbuckets, 1)):
            paths = sorted(self.spill.folder(self.name, b).glob("part-*.parquet"))
            if not paths:
                continue
            df = pd.read_parquet(paths, columns=cols)
            for c in cols:
                v = df[c].dropna().dt.as_unit("ns").astype("int64").to_numpy()
                day, fine = found[c]
                day = day and bool((v % 86_400_000_000_000 == 0).all())
                for level, unit in ((3, 1_000), (2, 1_000_000), (1, 1_000_000_000)):
                    if level > fine and (v % unit != 0).any():
                        fine = level
                        break
                found[c] = [day, fine]
        unit = {0: 1_000_000_000, 1: 1_000_000, 2: 1_000, 3: 1}
        return {c: pd.Timestamp(0 if day else unit[fine], unit="ns")
                for c, (day, fine) in found.items()}  # fmt: skip

    def head(self, n: int) -> pd.DataFrame:
        got, have = [], 0
        for df in self.frames():
            got.append(df.iloc[: n - have])
            have += len(got[-1])
            if have >= n:
                break
        return pd.concat(got, ignore_index=True) if got else pd.DataFrame()

    def tail(self, n: int) -> pd.DataFrame:
        last: pd.DataFrame | None = None
        for df in self.frames():
            last = df if last is None else pd.concat([last, df], ignore_index=True)
            last = last.iloc[-n:]
        return last.reset_index(drop=True) if last is not None else pd.DataFrame()


def _in_line_order(df: pd.DataFrame) -> pd.DataFrame:
    if "line" not in df.columns or df["line"].is_monotonic_increasing:
        return df
    return df.sort_values("line", kind="stable", ignore_index=True)


def spilled_tables(tables) -> tuple[dict[str, pd.DataFrame], dict[str, SpilledTable]]:
    """The tables of a TableSet whose large tables are in its spill, as ``zdiag parse``
    shows them: (tables in memory, including ``conn_analysis`` and ``ibm_disagreements`` of
    spilled packets; spilled tables, read back in order). Spilled packets get zdiag's TCP
    analysis a bucket (whole connections) at a time, written beside the spill."""
    spill = tables.spill
    small = {n: tables[n] for n in tables}
    files = small.get("files")
    order = {} if files is None else {str(s): i for i, s in enumerate(files["source"])}
    big = {}
    for name in spill.tables:
        data = None
        if name == "packets":
            data = spill.root / "_analysed" / name
            small.update(_analyse_spilled(spill, name, files, data, order))
        big[name] = SpilledTable(spill, name, order, data)
    return small, big


def _analyse_spilled(spill, name, files, data: Path, order) -> dict[str, pd.DataFrame]:
    """Each bucket of spilled packets with zdiag's analysis columns, written part by part
    under ``data``; returns the ``conn_analysis`` and ``ibm_disagreements`` tables in the
    order the in-memory analysis gives them."""
    from zdiag.analysis.tcp import IBM_LETTER_CLASSES, merge_disagreements
    from zdiag.analysis.tcp import add_to_tables as add_tcp_analysis
    from zdiag.tables import conform

    derived: dict[str, list[pd.DataFrame]] = {}
    context = {"files": files} if files is not None else {}
    for b in range(max(spill.nbuckets, 1)):
        paths = sorted(spill.folder(name, b).glob("part-*.parquet"))
        if not paths:
            continue
        pieces = [pd.read_parquet(p) for p in paths]
        bucket = pd.concat(pieces, ignore_index=True) if len(pieces) > 1 else pieces[0]
        out = add_tcp_analysis({**context, name: bucket})
        for t, df in out.items():
            if t not in ("files", name):
                derived.setdefault(t, []).append(df)
        folder = data / f"bucket-{b:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        start = 0
        for path, piece in zip(paths, pieces, strict=True):
            rows = out[name].iloc[start : start + len(piece)]
            rows.to_parquet(folder / path.name, index=False)
            start += len(piece)
    small = {}

    def rank(df: pd.DataFrame) -> pd.Series:
        return df["source"].astype(str).map(order).fillna(len(order))

    if derived.get("conn_analysis"):  # connections in order of their first packet
        ca = pd.concat(derived["conn_analysis"], ignore_index=True)
        keys = pd.DataFrame({"r": rank(ca), "l": ca["line"]})
        ca = ca.iloc[keys.sort_values(["r", "l"], kind="stable").index]
        small["conn_analysis"] = conform("conn_analysis", ca.reset_index(drop=True))
    if derived.get("ibm_disagreements"):  # letter by letter, files in the order read
        dis = merge_disagreements(derived["ibm_disagreements"])
        letters = {k: i for i, k in enumerate(IBM_LETTER_CLASSES)}
        keys = pd.DataFrame({"k": dis["ibm_letter"].map(letters), "r": rank(dis)})
        dis = dis.iloc[keys.sort_values(["k", "r"], kind="stable").index]
        small["ibm_disagreements"] = conform("ibm_disagreements", dis.reset_index(drop=True))
    return small
