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
    write_parquet_tables({**dict(tables), "findings": findings}, folder)
