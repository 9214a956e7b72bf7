"""Tables as a workbook, one sheet per table (``zdiag parse --format xlsx``).

Same streaming writer as the findings workbook: write-only, header frozen, autofilter,
fitted widths, text never a formula, and a table past 1,048,575 rows continues on
``<table> (2)``.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from zdiag.report.xlsx import SHEET_ROWS, _Book, write_frame

MAX_ROWS = SHEET_ROWS - 1  # data rows per sheet after the header


def write_tables_xlsx(tables: Mapping[str, pd.DataFrame], path) -> None:
    """Write every table of ``tables`` to ``path``, one sheet each."""
    book = _Book()
    for name, df in tables.items():
        write_frame(book, str(name), df)
    if not tables:
        book.wb.create_sheet("empty").append(["no tables"])
    book.save(path)
