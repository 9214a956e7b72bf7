"""Tables as a workbook, one sheet per table (``zdiag parse --format xlsx``)."""

from __future__ import annotations

import pandas as pd
from openpyxl import Workbook

from zdiag.report.excel_safe import safe_cell

MAX_ROWS = 1_048_575  # rows per sheet after the header


def write_tables_xlsx(tables: dict[str, pd.DataFrame], path: str) -> None:
    wb = Workbook(write_only=True)
    for name, df in tables.items():
        cols = list(df.columns)
        n = len(df)
        parts = max(1, -(-n // MAX_ROWS))
        for part in range(parts):
            title = name[:31] if part == 0 else f"{name[:26]} ({part + 1})"
            ws = wb.create_sheet(title)
            ws.append(cols)
            chunk = df.iloc[part * MAX_ROWS : (part + 1) * MAX_ROWS]
            for values in zip(*(chunk[c].tolist() for c in cols), strict=True):
                ws.append([safe_cell(v) for v in values])
    if not tables:
        wb.create_sheet("empty").append(["no tables"])
    wb.save(path)
