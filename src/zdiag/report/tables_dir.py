"""Tables as parquet files in a folder (``zdiag scan --tables DIR``, ``parse --format parquet``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

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
    import pyarrow as pa
    import pyarrow.parquet as pq

    from zdiag.analysis.tcp import add_to_tables as add_tcp_analysis

    context = {n: tables[n] for n in ("files",) if n in tables}
    tmp = path.with_name(path.name + ".tmp")
    writer = None
    try:
        for bucket in spill.buckets(name):
            df = parquet_safe(add_tcp_analysis({**context, name: bucket})[name])
            table = pa.Table.from_pandas(df, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table.cast(writer.schema))
    finally:
        if writer is not None:
            writer.close()
    if writer is not None:
        tmp.replace(path)
