"""The workbook opens in LibreOffice (headless) and prints: one conversion to PDF for the
whole module, then the first page rendered to PNG with pdftoppm (docs/make_screenshot.py's
own functions, so the README picture's recipe is tested too).

LibreOffice and poppler come from Debian's packages; ``.ci/run`` installs them when absent.
Outside CI a machine without them skips this module; in CI that is a failure.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess

import pytest
from test_report_xlsx import rich_sample

from zdiag.report.xlsx import write_xlsx

HAVE_TOOLS = all(shutil.which(t) for t in ("soffice", "pdftoppm", "pdftotext"))
if not HAVE_TOOLS and not os.environ.get("CI"):
    pytest.skip(
        "LibreOffice/poppler not installed (`.ci/run` installs them)", allow_module_level=True
    )


def screenshot_module(root):
    spec = importlib.util.spec_from_file_location(
        "make_screenshot", root / "docs" / "make_screenshot.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    from conftest import ROOT

    assert HAVE_TOOLS, "CI must have soffice, pdftoppm and pdftotext (see .ci/run)"
    shot = screenshot_module(ROOT)
    tmp = tmp_path_factory.mktemp("lo")
    tables, findings, rules = rich_sample()
    book = write_xlsx(tmp / "findings.xlsx", tables, findings, rules, with_tables=True)
    pdf = shot.xlsx_to_pdf(book, tmp)  # the one conversion
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    return shot, tmp, pdf, text


def test_libreoffice_converts_the_workbook(converted):
    _, _, pdf, text = converted
    assert pdf.read_bytes()[:5] == b"%PDF-"
    # Summary, Findings, Evidence and the table sheets all printed
    for needle in ("zdiag findings report", "Findings by rule", "tcp-retransmit-then-local-reset",
                   "Evidence: the table rows behind each finding", "2501664217", "EZZ8673I"):  # fmt: skip
        assert needle in text, needle


def test_libreoffice_did_not_evaluate_any_payload(converted):
    text = converted[3]
    # shown as the text that was read, not as a computed value or an error
    for payload in ("=cmd|' /C calc'!A0", "@SUM(1)", "=1+1", "-2+3", "+1+1"):
        assert payload in text, payload
    assert "#NAME?" not in text and "Err:" not in text


def test_first_page_renders_to_png(converted):
    shot, tmp, pdf, _ = converted
    png = shot.first_page_png(pdf, tmp / "page1.png", dpi=60)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert 200 < width < 2000 and 100 < height < 2000  # cropped to the printed area
