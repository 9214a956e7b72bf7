"""Tables as a workbook, one sheet per table (``zdiag parse --format xlsx``).

Same streaming writer as the findings workbook: write-only, header frozen, autofilter,
fitted widths, text never a formula, and a table past 1,048,575 rows continues on
``<table> (2)``. A table may come a piece at a time (a table kept on disk): the pieces are
appended to the sheet one after the other; a table kept on disk is read twice, first for the
column widths (the widest over every piece, as a table in memory is fitted on all its rows),
then for its rows. Pieces given only as an iterable are fitted on the first one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from zdiag.report.xlsx import SHEET_ROWS, _Book, _fit_widths, _Sheet, write_frame

MAX_ROWS = SHEET_ROWS - 1  # data rows per sheet after the header


def write_tables_xlsx(tables: Mapping[str, pd.DataFrame | Iterable[pd.DataFrame]], path) -> None:
    """Write every table of ``tables`` (a DataFrame, or its pieces in order) to ``path``,
    one sheet each."""
    book = _Book()
    for name, df in tables.items():
        if isinstance(df, pd.DataFrame):
            write_frame(book, str(name), df)
        elif hasattr(df, "frames"):  # a table kept on disk: the widths over every piece first
            write_frames(book, str(name), df.frames(), widths=_widest(df.frames()))
        else:
            write_frames(book, str(name), df)
    if not tables:
        book.wb.create_sheet("empty").append(["no tables"])
    book.save(path)


def _widest(frames: Iterable[pd.DataFrame]) -> list[float] | None:
    """Column widths fitted on every piece (pieces with the same columns): the widest."""
    widths: list[float] | None = None
    for df in frames:
        fit = _fit_widths(df, [str(c) for c in df.columns])
        widths = fit if widths is None else [max(a, b) for a, b in zip(widths, fit, strict=True)]
    return widths


def write_frames(book: _Book, title: str, frames: Iterable[pd.DataFrame],
                 widths: list[float] | None = None) -> _Sheet | None:  # fmt: skip
    """:func:`~zdiag.report.xlsx.write_frame` of the pieces' concatenation, a piece at a
    time (each piece goes through ``write_frame``'s own loop, on the same sheet); the column
    ``widths``, or those fitted on the first piece."""
    sheet = None
    for df in frames:
        if sheet is None:
            header = [str(c) for c in df.columns]
            sheet = _Sheet(book, title, header=header, widths=widths or _fit_widths(df, header))
        write_frame(book, title, df, sheet=sheet)
    if sheet is not None:
        sheet.close()
    return sheet
