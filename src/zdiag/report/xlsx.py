"""The findings workbook (openpyxl, write-only throughout so big scans stream to disk).

Sheets, in order: ``Summary`` (per case and file: kind, encoding, lines, parsed, layout,
unrecognised and findings by level; totals by level; findings by rule with a stacked bar
chart; notes on sheets that overflowed), ``Findings`` (one row per finding, coloured by
level, autofilter, frozen header, fitted widths, a link to its Evidence block),
``Evidence`` (per finding a block: title row, then for every table the finding cites a
header row and the cited rows with table, source and line), ``Unrecognised``, ``Files``,
and with ``with_tables`` one sheet per table.

A sheet that would pass Excel's 1,048,576 rows continues on ``<sheet> (2)``, ``(3)`` …
(the header repeated) and Summary says so. Every value goes through
:mod:`zdiag.report.excel_safe`: text from inputs is never written as a formula.
"""

from __future__ import annotations

import copy
import datetime as _dt
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font, PatternFill
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.properties import PageSetupProperties

from zdiag.report.excel_safe import column_values, plain, safe_cell

SHEET_ROWS = 1_048_576  # Excel's rows per sheet, header included (tests lower it)
LEVELS = ("critical", "high", "medium", "low", "info")
LEVEL_RANK = {lvl: i for i, lvl in enumerate(LEVELS)}
LEVEL_FILL = {  # background, font colour
    "critical": ("C00000", "FFFFFF"),
    "high": ("F4B183", "000000"),
    "medium": ("FFE699", "000000"),
    "low": ("DDEBF7", "000000"),
    "info": ("EDEDED", "000000"),
}
LEVEL_CHART = {"critical": "C00000", "high": "ED7D31", "medium": "FFC000", "low": "5B9BD5",
               "info": "A5A5A5"}  # fmt: skip
HEADER_FILL = PatternFill("solid", fgColor="1F3864")
HEADER_FONT = Font(bold=True, color="FFFFFF")
BOLD = Font(bold=True)
BOLD_WHITE = Font(bold=True, color="FFFFFF")
TITLE_FONT = Font(bold=True, size=14)
GREY_FILL = PatternFill("solid", fgColor="D9D9D9")
LINK_FONT = Font(color="0563C1", underline="single")
LINK_WHITE = Font(color="FFFFFF", underline="single")
_LEVEL_STYLE = {lvl: (PatternFill("solid", fgColor=bg), Font(color=fg))
                for lvl, (bg, fg) in LEVEL_FILL.items()}  # fmt: skip
MAX_WIDTH = 60
SUMMARY_FILES_MAX = 10_000  # files listed on Summary (all of them are on Files)

FINDING_COLUMNS = ("#", "level", "rule_id", "title", "message", "case", "source", "line",
                   "lines", "key", "first_ts", "last_ts", "evidence", "remedy", "references")  # fmt: skip
SUMMARY_FILE_COLUMNS = ("case", "source", "kind", "encoding", "lines", "parsed", "layout",
                        "unrecognised", "error")  # fmt: skip


def level_fill(level: str) -> tuple[PatternFill, Font] | None:
    """The (fill, font) of a level's rows; None for a level zdiag does not know."""
    return _LEVEL_STYLE.get(str(level))


# ---------------------------------------------------------------------------------------
# Streaming sheets that continue on "<title> (2)" when full


class _Book:
    """A write-only workbook that hands out unique sheet titles and collects notes."""

    def __init__(self) -> None:
        self.wb = Workbook(write_only=True)
        self.taken: set[str] = set()
        self.notes: list[str] = []

    def title(self, base: str) -> str:
        """``base`` made a legal, unique (case-insensitive) sheet title."""
        clean = "".join("_" if c in "[]:*?/\\" else c for c in base).strip("'") or "sheet"
        title, k = clean[:31], 1
        while title.lower() in self.taken:
            k += 1
            suffix = f" ({k})"
            title = clean[: 31 - len(suffix)] + suffix
        self.taken.add(title.lower())
        return title

    def save(self, path) -> None:
        self.wb.save(str(path))


class _Sheet:
    """One logical sheet: rows go to ``title``, then ``title (2)`` … past ``SHEET_ROWS``.

    ``header`` is written (styled) at the top of every part; ``widths`` are applied to
    every part; with a header the top row is frozen and an autofilter spans the data."""

    def __init__(self, book: _Book, title: str, *, header: Sequence[str] | None = None,
                 widths: Sequence[float] | None = None, landscape: bool = False,
                 split: bool = True):  # fmt: skip
        self.book, self.base = book, title
        self.header = list(header) if header is not None else None
        self.widths = list(widths or [])
        self.landscape = landscape
        self.split = split  # False: one sheet only (Summary, whose size zdiag bounds)
        self.parts: list[list] = []  # [worksheet, rows written]
        self.title = book.title(title)
        self._new_part(self.title)

    @property
    def ws(self):
        return self.parts[-1][0]

    def _new_part(self, title: str) -> None:
        ws = self.book.wb.create_sheet(title)
        for i, w in enumerate(self.widths, 1):
            ws.column_dimensions[get_column_letter(i)].width = w
        if self.landscape:
            ws.page_setup.orientation = "landscape"
            ws.page_setup.fitToWidth = 1
            ws.page_setup.fitToHeight = 0
            ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        self.parts.append([ws, 0])
        if self.header is not None:
            ws.freeze_panes = "A2"
            self._raw_append([_styled(ws, h, HEADER_FILL, HEADER_FONT) for h in self.header])

    def _raw_append(self, row: list) -> None:
        part = self.parts[-1]
        part[0].append(row)
        part[1] += 1

    def ensure_room(self) -> None:
        """Open the next part when the current one is full."""
        if self.split and self.parts[-1][1] >= SHEET_ROWS:
            suffix = f" ({len(self.parts) + 1})"  # kept whole within Excel's 31 characters
            self._new_part(self.book.title(self.title[: 31 - len(suffix)] + suffix))

    def append(self, row: list) -> tuple[str, int]:
        self.ensure_room()
        ws, n = self.parts[-1]
        for c in row:  # a cell made before a new part opened must belong to the new part
            if isinstance(c, Cell) and c.parent is not ws:  # (its hyperlink goes there)
                c.parent = ws
        self._raw_append(row)
        return ws.title, n + 1

    def cells(self, values: list, fill=None, font=None) -> list:
        """``values`` as safe cells for the current part, styled when asked."""
        if fill is None and font is None:
            return [safe_cell(v, self.ws) for v in values]
        return [_styled(self.ws, v, fill, font) for v in values]

    def close(self) -> None:
        if self.header is not None:
            last = get_column_letter(max(1, len(self.header)))
            for ws, n in self.parts:
                ws.auto_filter.ref = f"A1:{last}{max(n, 1)}"
        if len(self.parts) > 1:
            head = 1 if self.header is not None else 0
            rows = sum(n - head for _, n in self.parts)
            names = ", ".join(f"'{ws.title}'" for ws, _ in self.parts[1:])
            what = "rows" if head else "rows (blocks included)"
            self.book.notes.append(
                f"'{self.title}' has {rows:,} {what}, more than one sheet holds "
                f"({SHEET_ROWS - head:,}{' after the header' * head}): it continues on {names}."
            )


def _styled(ws, value, fill=None, font=None):
    """``value`` as a (safe) cell carrying ``fill`` and ``font``."""
    cell = safe_cell(value, ws)
    if not isinstance(cell, Cell):
        cell = WriteOnlyCell(ws, cell)
    if fill is not None or font is not None:
        restyle(cell, fill, font)
    return cell


def restyle(cell: Cell, fill=None, font=None) -> Cell:
    """Give ``cell`` a fill and/or font. openpyxl's style setters hash the Font and Fill
    objects into the workbook's tables on every call, which dominated big workbooks; the
    resulting style index array is computed once per combination and copied after that."""
    wb = cell.parent.parent
    cache = wb.__dict__.setdefault("_zdiag_styles", {})
    st = cell._style if cell._style is not None else StyleArray()
    key = (id(fill), id(font), *st)
    hit = cache.get(key)
    if hit is None:
        if fill is not None:
            cell.fill = fill
        if font is not None:
            cell.font = font
        cache[key] = (StyleArray(cell._style), fill, font)  # held, so the ids stay theirs
    else:
        cell._style = StyleArray(hit[0])
    return cell


def _fit_widths(df: pd.DataFrame, header: Sequence[str]) -> list[float]:
    """Column widths from the data, vectorised: longest text, capped at ``MAX_WIDTH``."""
    widths = []
    for col, name in zip(df.columns, header, strict=True):
        s = df[col]
        if len(s) == 0:
            longest = 0
        elif pd.api.types.is_datetime64_any_dtype(s.dtype):
            longest = 23
        elif pd.api.types.is_bool_dtype(s.dtype):
            longest = 5
        elif pd.api.types.is_numeric_dtype(s.dtype):
            nn = s.dropna()
            longest = max((len(str(plain(v))) for v in (nn.min(), nn.max())), default=0) if len(nn) else 0  # fmt: skip
        else:
            sample = s if len(s) <= 10_000 else s.sample(10_000, random_state=0)
            lens = sample.astype(object).map(lambda v: 0 if v is None or v is pd.NA else len(str(v)))  # fmt: skip
            longest = int(lens.max()) if len(lens) else 0
        widths.append(float(min(MAX_WIDTH, max(len(str(name)) + 2, longest + 2, 6))))
    return widths


def write_frame(book: _Book, title: str, df: pd.DataFrame, sheet: _Sheet | None = None) -> _Sheet:
    """A DataFrame as a tabular sheet (header, filter, frozen, fitted), streaming; with
    ``sheet``, its rows are appended to that open sheet (the caller closes it)."""
    given = sheet is not None
    if sheet is None:
        header = [str(c) for c in df.columns]
        sheet = _Sheet(book, title, header=header, widths=_fit_widths(df, header))
    start, n = 0, len(df)
    while start < n:
        sheet.ensure_room()
        # chunks never cross a part, so each chunk's cells belong to the part that holds them
        room = SHEET_ROWS - sheet.parts[-1][1]
        chunk = df.iloc[start : start + min(room, 50_000)]
        cols = [column_values(chunk[c], sheet.ws) for c in df.columns]
        for row in zip(*cols, strict=True):
            sheet._raw_append(list(row))
        start += len(chunk)
    if not given:
        sheet.close()
    return sheet


# ---------------------------------------------------------------------------------------
# Findings and evidence


def sort_findings(findings: pd.DataFrame) -> pd.DataFrame:
    """Findings ordered by level (critical first), rule, case, source, line."""
    if findings is None or len(findings) == 0:
        return pd.DataFrame(columns=list(findings.columns) if findings is not None else [])
    rank = findings["level"].astype(object).map(LEVEL_RANK).fillna(len(LEVELS))
    order = pd.DataFrame(
        {
            "rank": rank.to_numpy(),
            "rule": findings["rule_id"].astype(str).to_numpy(),
            "case": findings["case"].astype(str).to_numpy(),
            "source": findings["source"].astype(str).to_numpy(),
            "line": pd.to_numeric(findings["line"], errors="coerce").fillna(0).to_numpy(),
        }
    ).sort_values(["rank", "rule", "case", "source", "line"], kind="stable")
    return findings.iloc[order.index.to_numpy()].reset_index(drop=True)


def evidence_rows(findings: pd.DataFrame, tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Long frame: one row per (finding, cited table row), found by a merge per table.

    Columns: ``finding`` (0-based position in ``findings``), ``table``, ``ord`` (position of
    the citation), ``found`` (bool) and ``row`` (position in ``tables[table]``, -1 when the
    cited row is not there)."""
    ev = pd.DataFrame({"finding": np.arange(len(findings)),
                       "evidence": findings["evidence"].to_numpy() if len(findings) else []})  # fmt: skip
    ev = ev.explode("evidence", ignore_index=True)
    ev = ev[ev["evidence"].map(lambda e: isinstance(e, Mapping))].reset_index(drop=True)
    empty = pd.DataFrame({"finding": pd.Series([], dtype=int), "table": [], "source": [],
                          "line": pd.Series([], dtype="Int64"), "ord": pd.Series([], dtype=int),
                          "row": pd.Series([], dtype=int)})  # fmt: skip
    if ev.empty:
        return empty
    long = pd.DataFrame(
        {
            "finding": ev["finding"].astype(int),
            "table": ev["evidence"].str.get("table").astype(str),
            "source": ev["evidence"].str.get("source").astype(object),
            "line": pd.to_numeric(ev["evidence"].str.get("line"), errors="coerce").astype("Int64"),
        }
    )
    long["source"] = long["source"].where(long["source"].notna(), "").astype(str)
    long = long.drop_duplicates(["finding", "table", "source", "line"]).reset_index(drop=True)
    long["ord"] = np.arange(len(long))
    parts = []
    for name, group in long.groupby("table", sort=False):
        table = tables.get(name) if hasattr(tables, "get") else None
        if table is None or len(table) == 0 or not {"source", "line"} <= set(table.columns):
            parts.append(group.assign(row=-1))
            continue
        keys = pd.DataFrame(
            {
                "source": table["source"].astype(object).where(table["source"].notna(), "").astype(str),
                "line": pd.to_numeric(table["line"], errors="coerce").astype("Int64"),
                "row": np.arange(len(table)),
            }
        )  # fmt: skip
        merged = group.merge(keys, on=["source", "line"], how="left")
        merged["row"] = merged["row"].fillna(-1).astype(int)
        parts.append(merged)
    out = pd.concat(parts, ignore_index=True)
    # within a finding: tables in the order first cited, rows in citation order
    out["torder"] = out.groupby(["finding", "table"])["ord"].transform("min")
    out = out.sort_values(["finding", "torder", "ord", "row"], kind="stable")
    return out.drop(columns="torder").reset_index(drop=True)


def _evidence_layout(ev: pd.DataFrame, n_findings: int) -> np.ndarray:
    """0-based global row of each finding's block title in the Evidence sheet(s).

    A block is: title row, then per cited table a header row and its rows, then a blank."""
    rows = np.ones(n_findings, dtype=np.int64) * 2  # title + blank
    if len(ev):
        per_finding = ev.groupby("finding").size()
        tables_per = ev.groupby("finding")["table"].nunique()
        rows[per_finding.index.to_numpy()] += per_finding.to_numpy() + tables_per.to_numpy()
    no_ev = np.ones(n_findings, dtype=bool)
    if len(ev):
        no_ev[ev["finding"].unique()] = False
    rows[no_ev] += 1  # "no evidence cited" line
    starts = np.concatenate([[1], 1 + np.cumsum(rows)[:-1]]) if n_findings else rows
    return starts  # row 0 is the sheet's title line


def _write_evidence(book: _Book, findings: pd.DataFrame, ev: pd.DataFrame,
                    tables: Mapping[str, pd.DataFrame]) -> None:  # fmt: skip
    sheet = _Sheet(book, "Evidence", widths=[9, 14, 10, 40, 8] + [16] * 30)
    sheet.append(sheet.cells(["Evidence: the table rows behind each finding (block per "
                              "finding; the Findings sheet links here)"], font=TITLE_FONT))  # fmt: skip
    # Pre-render each cited table's rows once (vectorised per table), then walk in order.
    rendered: dict[str, tuple[list[str], list[list]]] = {}
    for name, group in ev.groupby("table", sort=False):
        table = tables.get(name) if hasattr(tables, "get") else None
        if table is None:
            continue
        rows = group["row"].to_numpy()
        rows = np.unique(rows[rows >= 0])
        extra = [c for c in table.columns if c not in ("case", "source", "line")]
        sub = table.iloc[rows]
        cols = [column_values(sub[c], sheet.ws) for c in ["case"] + extra if c in sub.columns]
        values = [list(r) for r in zip(*cols, strict=True)] if cols else [[] for _ in rows]
        rendered[name] = (["case"] * ("case" in table.columns) + extra,
                          dict(zip(rows.tolist(), values, strict=True)))  # fmt: skip
    groups = {f: g for f, g in ev.groupby("finding", sort=True)} if len(ev) else {}
    rule = findings["rule_id"].astype(str).tolist()
    level = findings["level"].astype(str).tolist()
    message = findings["message"].astype(object).tolist()
    for i in range(len(findings)):
        style = level_fill(level[i])
        fill = style[0] if style else None
        font = BOLD_WHITE if level[i] == "critical" else BOLD
        sheet.append(sheet.cells([f"#{i + 1}", level[i], rule[i], message[i]], fill, font))
        g = groups.get(i)
        if g is None:
            sheet.append(sheet.cells([i + 1, "", "", "", "", "no evidence rows cited"]))
        else:
            for name, tg in g.groupby("table", sort=False):
                cols, by_row = rendered.get(name, ([], {}))
                head = ["finding", "table", "source", "line"] + cols
                sheet.append(sheet.cells(head, fill=GREY_FILL, font=BOLD))
                srcs = tg["source"].tolist()
                lines = tg["line"].astype(object).where(tg["line"].notna(), None).tolist()
                for src, line, r in zip(srcs, lines, tg["row"].tolist(), strict=True):
                    lead = [i + 1, name, safe_cell(src, sheet.ws), line]
                    if r >= 0:
                        sheet.append(lead + [_fresh(v, sheet.ws) for v in by_row[r]])
                    else:
                        why = "table not in this scan" if name not in rendered else "row not found"
                        sheet.append(lead + [why])
        sheet.append([])
    sheet.close()


def _fresh(value, ws):
    """A copy of a pre-rendered cell (one may be cited by several findings): openpyxl
    reuses an unstyled cell object for the next value, so never hand it the same one."""
    if isinstance(value, Cell):
        c = WriteOnlyCell(ws, None)
        c._value, c.data_type = value._value, value.data_type
        c._style = copy.copy(value._style)
        return c
    return value


def _findings_frame(findings: pd.DataFrame, ev: pd.DataFrame) -> pd.DataFrame:
    n = len(findings)
    counts = np.zeros(n, dtype=np.int64)
    if len(ev):
        vc = ev.groupby("finding").size()
        counts[vc.index.to_numpy()] = vc.to_numpy()
    lines = findings["lines"] if "lines" in findings else pd.Series([None] * n)

    def short_lines(v):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        v = list(v)
        return ", ".join(map(str, v[:20])) + (f" … (+{len(v) - 20})" if len(v) > 20 else "")

    return pd.DataFrame(
        {
            "#": np.arange(1, n + 1),
            "level": findings["level"].astype(object),
            "rule_id": findings["rule_id"].astype(object),
            "title": findings["title"].astype(object),
            "message": findings["message"].astype(object),
            "case": findings["case"].astype(object),
            "source": findings["source"].astype(object),
            "line": findings["line"],
            "lines": lines.map(short_lines).astype(object),
            "key": findings["key"].astype(object),
            "first_ts": findings["first_ts"],
            "last_ts": findings["last_ts"],
            "evidence": [f"{c} row{'s' * (c != 1)} ▸" for c in counts.tolist()],
            "remedy": findings["remedy"].astype(object),
            "references": findings["references"].map(
                lambda v: "; ".join(map(str, v)) if isinstance(v, list | tuple | np.ndarray) else v
            ).astype(object),
        }
    )  # fmt: skip


def _write_findings(book: _Book, findings: pd.DataFrame, ev: pd.DataFrame,
                    link_to: list[tuple[str, int]]) -> _Sheet:  # fmt: skip
    frame = _findings_frame(findings, ev)
    widths = _fit_widths(frame, FINDING_COLUMNS)
    sheet = _Sheet(book, "Findings", header=list(FINDING_COLUMNS), widths=widths)
    ev_col = FINDING_COLUMNS.index("evidence")
    levels = frame["level"].astype(str).tolist()
    start = 0
    while start < len(frame):
        chunk = frame.iloc[start : start + 20_000]
        ws = sheet.ws
        cols = [column_values(chunk[c], ws) for c in frame.columns]
        for j, row in enumerate(zip(*cols, strict=True)):
            i = start + j
            style = level_fill(levels[i])
            cells = [_styled(sheet.ws, v, *(style or (None, None))) for v in row]
            target_sheet, target_row = link_to[i]
            link = cells[ev_col]
            link.hyperlink = Hyperlink(ref="", location=f"'{target_sheet}'!A{target_row}",
                                       tooltip="the rows behind this finding")  # fmt: skip
            restyle(link, font=LINK_WHITE if levels[i] == "critical" else LINK_FONT)
            sheet.append(cells)
        start += len(chunk)
    sheet.close()
    return sheet


# ---------------------------------------------------------------------------------------
# Summary


def _level_counts(findings: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    if len(findings) == 0:
        return pd.DataFrame(columns=by + list(LEVELS))
    keys = findings[by].astype(object).where(findings[by].notna(), "")
    # a group-by's sizes, not pd.crosstab (the same table, half the time)
    frame = keys.assign(level=findings["level"].astype(str))
    counts = frame.groupby(by + ["level"], sort=True).size().unstack("level", fill_value=0)
    counts = counts.reindex(columns=list(LEVELS), fill_value=0)
    return counts.reset_index()


def _write_summary(sheet: _Sheet, files: pd.DataFrame, findings: pd.DataFrame,
                   rules_meta: Sequence[Mapping], notes: list[str],
                   disagreements: pd.DataFrame | None = None) -> None:  # fmt: skip
    ws = sheet.ws

    def row(values, fill=None, font=None):
        return sheet.append(sheet.cells(list(values), fill=fill, font=font))

    from zdiag import __version__

    row(["zdiag findings report"], font=TITLE_FONT)
    when = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    row([f"zdiag {__version__}, written {when}; {len(findings)} findings from "
         f"{len(rules_meta)} rules over {len(files)} file{'s' * (len(files) != 1)}"])  # fmt: skip
    row([])

    # per case and file
    row(["Files"], font=BOLD)
    head = list(SUMMARY_FILE_COLUMNS) + list(LEVELS) + ["findings"]
    row(head, fill=HEADER_FILL, font=HEADER_FONT)
    f = files.reindex(columns=list(SUMMARY_FILE_COLUMNS)).copy()
    f["case"] = f["case"].astype(object).where(f["case"].notna(), "")
    f["source"] = f["source"].astype(object).where(f["source"].notna(), "")
    per_file = _level_counts(findings, ["case", "source"])
    merged = f.merge(per_file, on=["case", "source"], how="outer", sort=False)
    for lvl in LEVELS:
        merged[lvl] = merged[lvl].fillna(0).astype(int)
    merged["findings"] = merged[list(LEVELS)].sum(axis=1)
    if len(merged) > SUMMARY_FILES_MAX:
        notes = [f"Summary lists the first {SUMMARY_FILES_MAX:,} of {len(merged):,} files; "
                 "the Files sheet has them all."] + list(notes)  # fmt: skip
        merged = merged.iloc[:SUMMARY_FILES_MAX]
    cols = [column_values(merged[c], ws) for c in head]
    for values in zip(*cols, strict=True):
        row(values)
    total = ["total", f"{len(files)} file{'s' * (len(files) != 1)}", "", ""]
    for c in ("lines", "parsed", "layout", "unrecognised"):
        total.append(int(pd.to_numeric(files[c], errors="coerce").fillna(0).sum()) if c in files else 0)  # fmt: skip
    total.append(int(files["error"].notna().sum()) if "error" in files else 0)
    total += [int(merged[lvl].sum()) for lvl in LEVELS] + [int(merged["findings"].sum())]
    row(total, font=BOLD)
    row([])

    # by level
    row(["Findings by level"], font=BOLD)
    row(["level", "findings"], fill=HEADER_FILL, font=HEADER_FONT)
    lv = findings["level"].astype(str).value_counts() if len(findings) else pd.Series(dtype=int)
    for lvl in LEVELS:
        style = level_fill(lvl)
        sheet.append([_styled(ws, lvl, *style), _styled(ws, int(lv.get(lvl, 0)), *style)])
    row(["total", len(findings)], font=BOLD)
    row([])

    # by rule: the chart's data
    row(["Findings by rule"], font=BOLD)
    head_title, head_row = row(["rule_id", "title", "level"] + list(LEVELS),
                               fill=HEADER_FILL, font=HEADER_FONT)  # fmt: skip
    by_rule = _level_counts(findings, ["rule_id"])
    meta = {str(m.get("id")): m for m in rules_meta}
    if len(by_rule):
        by_rule["total"] = by_rule[list(LEVELS)].sum(axis=1)
        by_rule["rank"] = by_rule[list(LEVELS)].to_numpy().argmax(axis=1)
        by_rule = by_rule.sort_values(["rank", "total", "rule_id"], ascending=[True, False, True])
    first_rule_row = head_row + 1
    for rec in by_rule.to_dict("records"):  # one row per rule that matched: small
        m = meta.get(str(rec["rule_id"]), {})
        lvl = str(m.get("level") or LEVELS[int(rec["rank"])])
        style = level_fill(lvl) or (None, None)
        row([rec["rule_id"], m.get("title", ""), _styled(ws, lvl, *style)]
            + [int(rec[x]) for x in LEVELS])  # fmt: skip
    last_rule_row = first_rule_row + len(by_rule) - 1
    if len(by_rule) == 0:
        row(["no findings"])
    row([])
    matched = len(by_rule)
    row([f"{len(rules_meta)} rules evaluated, {matched} matched, "
         f"{max(len(rules_meta) - matched, 0)} had no findings."])  # fmt: skip

    if disagreements is not None and len(disagreements):
        # IBM's formatter letter is kept beside zdiag's own analysis, never trusted over it
        d = disagreements[(disagreements["ibm_count"] > 0) | (disagreements["zdiag_count"] > 0)]
        row([])
        row(["IBM flag letters vs zdiag's own analysis"], font=BOLD)
        cols = ["source", "ibm_letter", "class", "ibm_count", "zdiag_count", "both",
                "ibm_only", "zdiag_only"]  # fmt: skip
        row(cols, fill=HEADER_FILL, font=HEADER_FONT)
        shown = d.reindex(columns=cols).iloc[:SUMMARY_FILES_MAX]
        for values in zip(*(column_values(shown[c], ws) for c in cols), strict=True):
            row(values)

    row([])
    row(["Notes"], font=BOLD)
    for note in notes or ["Every sheet fitted on one sheet; nothing continued elsewhere."]:
        row([note])

    if len(by_rule):
        chart = BarChart()
        chart.type = "bar"
        chart.grouping = "stacked"
        chart.overlap = 100
        chart.title = "Findings by level and rule"
        chart.y_axis.title = "findings"
        chart.x_axis.title = "rule"
        chart.y_axis.majorGridlines = None
        chart.gapWidth = 40
        chart.y_axis.scaling.min = 0
        chart.y_axis.majorUnit = max(1, -(-int(by_rule[list(LEVELS)].sum(axis=1).max()) // 8))
        data = Reference(ws, min_col=4, max_col=3 + len(LEVELS), min_row=head_row,
                         max_row=last_rule_row)  # fmt: skip
        cats = Reference(ws, min_col=1, min_row=first_rule_row, max_row=last_rule_row)
        chart.add_data(data, titles_from_data=True)
        chart.set_categories(cats)
        for series, lvl in zip(chart.series, LEVELS, strict=True):
            series.graphicalProperties.solidFill = LEVEL_CHART[lvl]
            series.graphicalProperties.line.solidFill = LEVEL_CHART[lvl]
        chart.height = max(7.5, 2.5 + 1.0 * len(by_rule))
        chart.width = 24.0
        chart.legend.position = "b"
        chart.x_axis.delete = False
        chart.y_axis.delete = False
        ws.add_chart(chart, f"A{sheet.parts[-1][1] + 2}")
    sheet.close()


# ---------------------------------------------------------------------------------------


def write_xlsx(path, tables: Mapping[str, pd.DataFrame], findings: pd.DataFrame | None,
               rules_meta: Sequence[Mapping] | None = None, *, with_tables: bool = False) -> Path:  # fmt: skip
    """Write the findings workbook to ``path``; returns the path.

    ``tables`` maps table name → DataFrame (a ``TableSet``; ``files`` and ``unrecognised``
    are used when present), ``findings`` has the ``findings`` schema's columns,
    ``rules_meta`` is a list of ``{id, title, level, description, remedy, references}``.
    """
    from zdiag.tables import empty

    path = Path(path)
    rules_meta = list(rules_meta or [])
    findings = findings if findings is not None else empty("findings")
    for col in empty("findings").columns:
        if col not in findings.columns:
            findings = findings.assign(**{col: None})
    findings = sort_findings(findings)
    files = tables.get("files") if "files" in tables else None
    files = files if files is not None else empty("files")
    unrec = tables.get("unrecognised") if "unrecognised" in tables else None
    unrec = unrec if unrec is not None else empty("unrecognised")

    book = _Book()
    summary = _Sheet(book, "Summary", widths=[28, 44, 18, 11, 9, 9, 9, 13, 24]
                     + [9] * 5 + [10], landscape=True, split=False)  # fmt: skip

    ev = evidence_rows(findings, tables)
    # Findings precede Evidence; each link is computed from the Evidence layout.
    starts = _evidence_layout(ev, len(findings))
    links = [(_part_title("Evidence", s), int(s % SHEET_ROWS) + 1) for s in starts.tolist()]
    _write_findings(book, findings, ev, links)
    _write_evidence(book, findings, ev, tables)
    write_frame(book, "Unrecognised", unrec)
    write_frame(book, "Files", files)
    if with_tables:
        for name, df in tables.items():
            if name in ("files", "unrecognised"):
                continue
            title = str(name)
            if title.lower() in book.taken:  # e.g. a table called "findings"
                title = f"{title} table"
            write_frame(book, title, df)
    _write_summary(
        summary,
        files,
        findings,
        rules_meta,
        book.notes,
        tables.get("ibm_disagreements") if "ibm_disagreements" in tables else None,
    )
    book.save(path)
    return path


def _part_title(base: str, global_row: int) -> str:
    part = global_row // SHEET_ROWS
    return base if part == 0 else f"{base} ({part + 1})"
