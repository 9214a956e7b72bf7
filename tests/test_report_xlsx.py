"""The findings workbook, opened again with openpyxl: sheets, headers, row counts, fills,
hyperlinks into Evidence, the chart, overflow sheets, and no formula anywhere."""

from __future__ import annotations

import zipfile

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from test_report_excel_safe import PAYLOADS, assert_no_formulas
from tools.report_sample import TRACE, ev, sample

from zdiag.report import tables_xlsx, xlsx
from zdiag.report.xlsx import FINDING_COLUMNS, LEVEL_FILL, write_xlsx
from zdiag.tables import STR, TableSet, conform

SYSLOG = "logs/syslogd.txt"


def rich_sample():
    """The reset trace plus a small messages table, unrecognised lines and findings that
    cite rows of two tables, a row that is not there, a table that is not there, and text
    made to look like formulas."""
    extra = [
        {
            "rule_id": "=cmd|' /C calc'!A0", "level": "high", "title": "@SUM(1)", "case": "",
            "source": SYSLOG, "line": 2, "lines": [2, 3], "key": "+1+1",
            "message": '=HYPERLINK("http://evil.example/","x")', "remedy": "-2+3",
            "references": ["=1+1"],
            "evidence": ev([2, 3], "messages", SYSLOG) + ev([5], "packets") + ev([99], "messages", SYSLOG),
            "first_ts": None, "last_ts": None,
        },
        {
            "rule_id": "no-evidence-rule", "level": "info", "title": "t", "case": "",
            "source": SYSLOG, "line": None, "lines": [], "key": "", "message": "nothing cited",
            "remedy": "", "references": [], "evidence": [], "first_ts": None, "last_ts": None,
        },
        {
            "rule_id": "missing-table-rule", "level": "low", "title": "t", "case": "",
            "source": SYSLOG, "line": 1, "lines": [1], "key": "", "message": "cites a table not scanned",
            "remedy": "", "references": [], "evidence": ev([1], "connections", SYSLOG),
            "first_ts": None, "last_ts": None,
        },
    ]  # fmt: skip
    tables, findings, rules = sample(extra_findings=extra)
    messages = pd.DataFrame(
        {
            "case": ["", "", ""], "source": [SYSLOG] * 3, "line": [1, 2, 3],
            "ts": pd.to_datetime(["2024-03-01 10:00:00.000", "2024-03-01 10:00:01.250", None], format="ISO8601"),
            "msg_id": ["EZZ8672I", "EZZ8673I", None],
            "text": ["plain", "=cmd|' /C calc'!A0", "@SUM(1)"],
        }
    )  # fmt: skip
    unrec = pd.DataFrame(
        {"case": [""] * len(PAYLOADS), "source": [SYSLOG] * len(PAYLOADS),
         "line": range(10, 10 + len(PAYLOADS)), "text": PAYLOADS,
         "reason": ["no rule matches"] * len(PAYLOADS)}
    )  # fmt: skip
    files = pd.concat(
        [tables["files"], conform("files", pd.DataFrame(
            {"case": [""], "source": [SYSLOG], "kind": ["syslog.zos"], "encoding": ["cp1047"],
             "lines": [20], "parsed": [3], "layout": [2], "unrecognised": [len(PAYLOADS)],
             "error": [None]}))],
        ignore_index=True,
    )  # fmt: skip
    tables = TableSet(
        {**dict(tables.items()), "files": files, "messages": conform("messages", messages),
         "unrecognised": conform("unrecognised", unrec)}
    )  # fmt: skip
    return tables, findings, rules


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    tables, findings, rules = rich_sample()
    path = tmp_path_factory.mktemp("x") / "findings.xlsx"
    write_xlsx(path, tables, findings, rules, with_tables=True)
    return path, tables, findings, rules, load_workbook(path)


def header(ws):
    return [c.value for c in next(ws.iter_rows(max_row=1))]


def data_rows(ws):
    return [r for r in ws.iter_rows(min_row=2) if any(c.value is not None for c in r)]


def test_sheets_in_order(book):
    _, tables, *_, wb = book
    data = [t for t in tables if t not in ("files", "unrecognised")]
    assert {"packets", "messages"} <= set(data)
    assert wb.sheetnames == ["Summary", "Findings", "Evidence", "Unrecognised", "Files", *data]


def test_findings_sheet(book):
    _, _, findings, _, wb = book
    ws = wb["Findings"]
    assert header(ws) == list(FINDING_COLUMNS)
    rows = data_rows(ws)
    assert len(rows) == len(findings) == 9
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:O{len(findings) + 1}"
    levels = [r[1].value for r in rows]
    assert levels == sorted(levels, key=xlsx.LEVEL_RANK.get)  # critical first
    for r in rows:  # the whole row carries its level's fill
        want = LEVEL_FILL[r[1].value][0]
        assert {c.fill.fgColor.rgb[-6:] for c in r} == {want}
    # fitted widths: the message column is wider than the level column, and capped
    widths = {k: v.width for k, v in ws.column_dimensions.items()}
    assert widths["E"] > widths["B"] and widths["E"] <= xlsx.MAX_WIDTH


def test_each_finding_links_to_its_evidence_block(book):
    _, _, findings, _, wb = book
    ws = wb["Findings"]
    ev_col = FINDING_COLUMNS.index("evidence")
    for r in data_rows(ws):
        n = r[0].value
        link = r[ev_col].hyperlink
        assert link is not None and link.location, n
        sheet, cell = link.location.rsplit("!", 1)
        target = wb[sheet.strip("'")][cell]
        assert target.value == f"#{n}"  # the block's title row
        assert wb[sheet.strip("'")].cell(target.row, 3).value == r[2].value  # same rule


def evidence_blocks(ws):
    """{finding number: [rows as tuples]} from the Evidence sheet."""
    blocks, current = {}, None
    for row in ws.iter_rows(min_row=2, values_only=True):
        if isinstance(row[0], str) and row[0].startswith("#"):
            current = int(row[0][1:])
            blocks[current] = []
        elif current is not None and any(v is not None for v in row):
            blocks[current].append(row)
    return blocks


def test_evidence_rows_come_from_every_table(book):
    _, tables, findings, _, wb = book
    blocks = evidence_blocks(wb["Evidence"])
    assert sorted(blocks) == list(range(1, len(findings) + 1))
    order = wb["Findings"]
    by_rule = {r[2].value: r[0].value for r in data_rows(order)}
    # the formula-looking rule cites messages rows 2, 3 (found), 99 (not found) and a packet
    rows = blocks[by_rule["=cmd|' /C calc'!A0"]]
    heads = [r for r in rows if r[0] == "finding"]
    assert [h[:4] for h in heads] == [("finding", "table", "source", "line")] * 2
    mh, ph = (list(h) for h in heads)  # messages cited first, then packets
    assert mh[4:6] == ["case", "ts"] and "msg_id" in mh and "conn" in ph
    msg = [r for r in rows if r[1] == "messages"]
    assert [(r[2], r[3]) for r in msg] == [(SYSLOG, 2), (SYSLOG, 3), (SYSLOG, 99)]
    assert msg[0][mh.index("msg_id")] == "EZZ8673I"
    assert msg[0][mh.index("text")] == "=cmd|' /C calc'!A0"
    assert msg[1][mh.index("text")] == "@SUM(1)"
    assert msg[2][4] == "row not found"
    pkt = [r for r in rows if r[1] == "packets"]
    assert [(r[3], r[ph.index("nr")], r[ph.index("tcp_flags")]) for r in pkt] == [(5, 1, "S")]
    # the critical finding cites 7 packets rows, in citation order, all found
    crit = [r for r in blocks[1] if r[0] == 1]
    assert [r[3] for r in crit] == [8, 11, 12, 13, 14, 15, 16]
    assert len(crit) == tables["packets"]["line"].isin([8, 11, 12, 13, 14, 15, 16]).sum()
    assert blocks[by_rule["no-evidence-rule"]][0][5] == "no evidence rows cited"
    assert blocks[by_rule["missing-table-rule"]][1][4] == "table not in this scan"


def test_summary_counts_chart_and_files(book):
    _, tables, findings, rules, wb = book
    ws = wb["Summary"]
    values = [[c for c in r] for r in ws.iter_rows(values_only=True)]
    flat = [r[0] for r in values]
    head_at = flat.index("case")
    assert values[head_at][:15] == ["case", "source", "kind", "encoding", "lines", "parsed",
                                    "layout", "unrecognised", "error", "critical", "high",
                                    "medium", "low", "info", "findings"]  # fmt: skip
    trace_row = next(r for r in values if r[1] == TRACE)
    assert trace_row[2:8] == ["systcpda.session", "utf-8", 16, 12, 4, 0]
    assert trace_row[9:15] == [1, 1, 2, 1, 1, 6]  # critical, high, medium, low, info, total
    sys_row = next(r for r in values if r[1] == SYSLOG)
    assert sys_row[9:15] == [0, 1, 0, 1, 1, 3]
    lv = flat.index("level")
    assert [tuple(r[:2]) for r in values[lv + 1 : lv + 6]] == [
        ("critical", 1), ("high", 2), ("medium", 2), ("low", 2), ("info", 2)]  # fmt: skip
    assert ws.cell(lv + 2, 1).fill.fgColor.rgb[-6:] == LEVEL_FILL["critical"][0]
    assert len(ws._charts) == 1
    chart = ws._charts[0]
    assert chart.grouping == "stacked" and len(chart.series) == 5
    notes = flat[flat.index("Notes") + 1]
    assert "nothing continued" in notes


def test_unrecognised_files_and_table_sheets(book):
    _, tables, *_, wb = book
    un = wb["Unrecognised"]
    assert header(un) == ["case", "source", "line", "text", "reason"]
    got = [r[3].value.replace("\r", "\n") for r in data_rows(un)]
    assert got == [p.replace("\r", "\n") for p in PAYLOADS]
    assert all(r[3].data_type == "s" for r in data_rows(un))
    files = wb["Files"]
    assert header(files) == list(tables["files"].columns)
    assert len(data_rows(files)) == 2
    pk = wb["packets"]
    assert header(pk) == list(tables["packets"].columns) and len(data_rows(pk)) == 12
    last = get_column_letter(len(tables["packets"].columns))
    assert pk.freeze_panes == "A2" and pk.auto_filter.ref == f"A1:{last}13"
    ts = pk.cell(2, 6)
    assert ts.is_date and ts.number_format.endswith(".000")


def test_no_cell_anywhere_is_a_formula(book):
    path, *_, wb = book
    assert_no_formulas(path)
    for ws in wb:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (ws.title, c.coordinate, c.value)
                if isinstance(c.value, str) and c.value[:1] in "=+-@\t\r\n|%":
                    assert c.quotePrefix, (ws.title, c.coordinate)


def test_overflow_continues_on_numbered_sheets(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "SHEET_ROWS", 6)
    tables, findings, rules = rich_sample()
    path = tmp_path / "small.xlsx"
    write_xlsx(path, tables, findings, rules, with_tables=True)
    wb = load_workbook(path)
    names = wb.sheetnames
    assert names[:3] == ["Summary", "Findings", "Findings (2)"]
    # 9 findings at 5 per sheet after the header; every part repeats the header
    assert [len(data_rows(wb[n])) for n in ("Findings", "Findings (2)")] == [5, 4]
    assert header(wb["Findings (2)"]) == list(FINDING_COLUMNS)
    assert wb["Findings (2)"].auto_filter.ref == "A1:O5"
    assert [n for n in names if n.startswith("packets")] == [
        "packets",
        "packets (2)",
        "packets (3)",
    ]
    ev_parts = [n for n in names if n.startswith("Evidence")]
    assert len(ev_parts) > 3 and all(wb[n].max_row <= 6 for n in ev_parts)
    # every link still lands on its own block's title, wherever the block went
    col = FINDING_COLUMNS.index("evidence")
    for part in ("Findings", "Findings (2)"):
        for r in data_rows(wb[part]):
            sheet, cell = r[col].hyperlink.location.rsplit("!", 1)
            assert wb[sheet.strip("'")][cell].value == f"#{r[0].value}"
    summary = [r[0] for r in wb["Summary"].iter_rows(values_only=True) if r[0]]
    notes = [s for s in summary if "continues on" in str(s)]
    assert any(s.startswith("'Findings' has 9 rows") and "'Findings (2)'" in s for s in notes)
    assert any(s.startswith("'packets' has 12 rows") and "(5 after the header)" in s
               and "'packets (2)', 'packets (3)'" in s for s in notes)  # fmt: skip
    assert_no_formulas(path)


def test_empty_scan_still_writes_a_workbook(tmp_path):
    path = tmp_path / "empty.xlsx"
    write_xlsx(path, TableSet(), None, [])
    wb = load_workbook(path)
    assert wb.sheetnames == ["Summary", "Findings", "Evidence", "Unrecognised", "Files"]
    assert len(data_rows(wb["Findings"])) == 0 and wb["Summary"]._charts == []
    assert "no findings" in [r[0] for r in wb["Summary"].iter_rows(values_only=True)]


def test_table_named_like_a_report_sheet(tmp_path):
    path = tmp_path / "clash.xlsx"
    t = TableSet({"Findings": pd.DataFrame({"source": pd.Series(["a"], dtype=STR), "line": [1]})})
    write_xlsx(path, t, None, [], with_tables=True)
    assert load_workbook(path).sheetnames[-1] == "Findings table"


def test_long_table_names_keep_their_part_number(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "SHEET_ROWS", 3)
    name = "a_table_name_of_thirty_one_chars"[:31]
    df = pd.DataFrame({"source": pd.Series(["s"] * 5, dtype=STR), "line": range(5)})
    tables_xlsx.write_tables_xlsx({name: df, "x[1]:y": df.iloc[:1]}, tmp_path / "n.xlsx")
    names = load_workbook(tmp_path / "n.xlsx").sheetnames
    assert names == [name, name[:27] + " (2)", name[:27] + " (3)", "x_1__y"]


def test_tables_workbook_for_zdiag_parse(tmp_path, monkeypatch):
    tables, *_ = rich_sample()
    path = tmp_path / "t.xlsx"
    monkeypatch.setattr(xlsx, "SHEET_ROWS", 10)
    tables_xlsx.write_tables_xlsx(tables, path)
    wb = load_workbook(path)
    want = []
    for t, df in tables.items():  # a table over 10 rows continues on "<name> (2)"
        want += [t] + [f"{t} ({k + 2})" for k in range((len(df) - 1) // 9)]
    assert wb.sheetnames == want
    assert {"packets (2)", "unrecognised (2)", "messages"} <= set(want)
    assert len(data_rows(wb["packets"])) + len(data_rows(wb["packets (2)"])) == 12
    assert_no_formulas(path)
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None


def test_real_sheet_limit_arithmetic():
    """At Excel's real size: row 1,048,576 is the last of 'Evidence', the next is row 1 of
    'Evidence (2)' (writing a million rows in a test would take minutes)."""
    assert xlsx.SHEET_ROWS == 1_048_576 and tables_xlsx.MAX_ROWS == 1_048_575
    assert xlsx._part_title("Evidence", 1_048_575) == "Evidence"
    assert xlsx._part_title("Evidence", 1_048_576) == "Evidence (2)"
    assert xlsx._part_title("Evidence", 3 * 1_048_576 + 5) == "Evidence (4)"


def test_summary_lists_at_most_its_cap_of_files(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "SUMMARY_FILES_MAX", 1)
    tables, findings, rules = rich_sample()
    path = tmp_path / "cap.xlsx"
    write_xlsx(path, tables, findings, rules)
    wb = load_workbook(path)
    col_b = [r[1] for r in wb["Summary"].iter_rows(values_only=True)]
    assert TRACE in col_b and SYSLOG not in col_b
    notes = [r[0] for r in wb["Summary"].iter_rows(values_only=True) if r[0]]
    assert "Summary lists the first 1 of 2 files; the Files sheet has them all." in notes
    assert len(data_rows(wb["Files"])) == 2


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    limit=st.integers(min_value=3, max_value=9),
    cites=st.lists(
        st.lists(st.tuples(st.sampled_from(["packets", "messages", "nosuch"]),
                           st.integers(min_value=1, max_value=20)), max_size=6),
        min_size=1, max_size=8,
    ),
)  # fmt: skip
def test_links_land_on_their_block_for_any_evidence(tmp_path, monkeypatch, limit, cites):
    """Property: whatever the evidence and the sheet size, every Findings link points at
    the title row of its own Evidence block, and each block holds the rows it cites."""
    monkeypatch.setattr(xlsx, "SHEET_ROWS", limit)
    tables, _, rules = rich_sample_cached()
    rows = [{"rule_id": f"r{i}", "level": ["high", "low"][i % 2], "title": "t", "case": "",
             "source": TRACE, "line": 1, "lines": [], "key": "", "message": f"m{i}",
             "remedy": "", "references": [], "first_ts": None, "last_ts": None,
             "evidence": [{"table": t, "source": SYSLOG if t == "messages" else TRACE,
                           "line": n} for t, n in c]}
            for i, c in enumerate(cites)]  # fmt: skip
    findings = conform("findings", pd.DataFrame(rows))
    path = tmp_path / "prop.xlsx"
    write_xlsx(path, tables, findings, rules)
    wb = load_workbook(path)
    col = FINDING_COLUMNS.index("evidence")
    seen = 0
    for part in [n for n in wb.sheetnames if n.startswith("Findings")]:
        for r in data_rows(wb[part]):
            sheet, cell = r[col].hyperlink.location.rsplit("!", 1)
            ws = wb[sheet.strip("'")]
            assert (
                ws[cell].value == f"#{r[0].value}" and ws.cell(ws[cell].row, 3).value == r[2].value
            )
            want = len({(t, n) for t, n in cites[int(r[2].value[1:])]})
            assert r[col].value.startswith(f"{want} row")
            seen += 1
    assert seen == len(cites)


_CACHE: list = []


def rich_sample_cached():
    if not _CACHE:
        _CACHE.append(rich_sample())
    return _CACHE[0]
