"""Render the first page of a findings workbook to a PNG for the README.

    python docs/make_screenshot.py [OUT.png]          (default: docs/workbook-summary.png)

The workbook is converted by LibreOffice headless (``soffice --convert-to pdf``; a file
LibreOffice had to repair would not convert cleanly) and the first page is rasterised by
poppler's ``pdftoppm``, cropped to the printed area. Both come from Debian's packages
(``libreoffice-calc``, ``poppler-utils``; ``.ci/run`` installs them when absent).

Until the demo case and the bundled rules are merged, the workbook is built from
hand-written findings over the real trace fixtures/systcpda/seed004_session_detail_reset_ex1.txt
(see tests/tools/report_sample.py). Once ``zdiag scan`` exists, replace ``demo_workbook``'s
body with ``zdiag scan fixtures/demo --xlsx PATH``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def demo_workbook(path: Path) -> Path:
    """The workbook shown in the README: ``zdiag scan fixtures/demo --xlsx``."""
    sys.path[:0] = [str(ROOT / "src")]
    import zdiag
    from zdiag.report import write_reports

    here = Path.cwd()
    os.chdir(ROOT)  # sources shown as the README's command shows them: fixtures/demo/...
    try:
        write_reports(zdiag.scan(["fixtures/demo"]), xlsx=path)
    finally:
        os.chdir(here)
    return path


def xlsx_to_pdf(xlsx: Path, outdir: Path, timeout: float = 240) -> Path:
    """Convert with LibreOffice headless in a private profile (no clash with a running
    office, no first-start dialogs); raises if no PDF comes out."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise FileNotFoundError("soffice not found (apt-get install libreoffice-calc)")
    outdir.mkdir(parents=True, exist_ok=True)
    profile = Path(tempfile.mkdtemp(prefix="zdiag-lo-"))
    try:
        proc = subprocess.run(
            [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
             "--convert-to", "pdf", "--outdir", str(outdir), str(xlsx)],
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    pdf = outdir / (xlsx.stem + ".pdf")
    if proc.returncode != 0 or not pdf.exists() or pdf.stat().st_size == 0:
        raise RuntimeError(f"soffice failed ({proc.returncode}): {proc.stdout} {proc.stderr}")
    return pdf


def _pgm_bbox(pgm: Path, margin: int) -> tuple[int, int, int, int]:
    """Bounding box (x, y, w, h) of the non-white pixels of a binary PGM."""
    import numpy as np

    data = pgm.read_bytes()
    fields, pos = [], 0
    while len(fields) < 4:  # P5, width, height, maxval (no comments from pdftoppm)
        while data[pos : pos + 1].isspace():
            pos += 1
        end = pos
        while not data[end : end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    w, h = int(fields[1]), int(fields[2])
    img = np.frombuffer(data[pos + 1 : pos + 1 + w * h], dtype=np.uint8).reshape(h, w)
    ys, xs = np.nonzero(img < 245)
    if len(xs) == 0:
        return 0, 0, w, h
    x0, y0 = max(int(xs.min()) - margin, 0), max(int(ys.min()) - margin, 0)
    x1, y1 = min(int(xs.max()) + margin, w - 1), min(int(ys.max()) + margin, h - 1)
    return x0, y0, x1 - x0 + 1, y1 - y0 + 1


def first_page_png(pdf: Path, png: Path, dpi: int = 130, margin: int = 16) -> Path:
    """Page 1 of ``pdf`` as ``png``, cropped to what is printed on it."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        raise FileNotFoundError("pdftoppm not found (apt-get install poppler-utils)")
    with tempfile.TemporaryDirectory() as tmp:
        gray = Path(tmp) / "page"
        subprocess.run([pdftoppm, "-f", "1", "-l", "1", "-r", str(dpi), "-gray", "-singlefile",
                        str(pdf), str(gray)], check=True, timeout=120)  # fmt: skip
        x, y, w, h = _pgm_bbox(gray.with_suffix(".pgm"), margin)
    out = png.with_suffix("")
    subprocess.run([pdftoppm, "-f", "1", "-l", "1", "-r", str(dpi), "-png", "-singlefile",
                    "-x", str(x), "-y", str(y), "-W", str(w), "-H", str(h), str(pdf), str(out)],
                   check=True, timeout=120)  # fmt: skip
    return out.with_suffix(".png")


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else ROOT / "docs" / "workbook-summary.png"
    with tempfile.TemporaryDirectory() as tmp:
        book = demo_workbook(Path(tmp) / "findings.xlsx")
        pdf = xlsx_to_pdf(book, Path(tmp))
        png = first_page_png(pdf, target)
    print(f"{png} ({os.path.getsize(png):,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
