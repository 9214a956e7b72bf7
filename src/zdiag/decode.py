"""Bytes to lines: encoding detection (UTF-8, Latin-1, EBCDIC cp1047/cp037), CRLF, tabs,
the ASA carriage-control column, and a clear error for empty or binary input.

Line numbers always refer to the physical lines of the file, so a message can name them.
"""

from __future__ import annotations

import codecs
import operator
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import polars as pl

# --- EBCDIC code pages ---------------------------------------------------------------
# Python ships cp037 but not cp1047 (the z/OS UNIX default). They differ in six code
# points; build cp1047's decoding table from cp037's instead of adding a dependency.
_CP037 = bytes(range(256)).decode("cp037")
_SWAPS_1047 = {0x5F: "^", 0xB0: "¬", 0xAD: "[", 0xBD: "]", 0xBA: "Ý", 0xBB: "¨"}
_CP1047 = "".join(_SWAPS_1047.get(i, ch) for i, ch in enumerate(_CP037))
_DECODE_TABLES = {"cp037": _CP037, "cp1047": _CP1047}
# EBCDIC NL (0x15) and LF (0x25) both end a record.
_EBCDIC_NEWLINE = re.compile(rb"\r?[\x15\x25]|\r")

# Fixed record lengths tried when an EBCDIC file arrives with no line ends (binary FTP of
# an FB/VB data set): the common print, card and IPCS widths.
_LRECLS = (133, 132, 121, 80, 81, 137, 255, 256, 100, 120, 84)


class Lines(Sequence[str]):
    """A file's lines held as one polars string column, with no Python ``str`` per line.

    Built straight from the bytes of UTF-8 text (Arrow's multithreaded line splitter), so
    that a parser whose hot path is vectorised never pays for a list of a million strings.
    It behaves as a read-only sequence of ``str`` (indexing, slicing, iteration, ``len``);
    :meth:`tolist` gives the plain list that other parsers receive.
    """

    __slots__ = ("series",)

    def __init__(self, series: pl.Series):
        self.series = series

    def __len__(self) -> int:
        return len(self.series)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return self.series[i].to_list()
        i = operator.index(i)  # numpy integers too
        n = len(self.series)
        if i < -n or i >= n:
            raise IndexError("line index out of range")
        return self.series[i]

    def __iter__(self) -> Iterator[str]:
        step = 1 << 16
        for start in range(0, len(self.series), step):
            yield from self.series.slice(start, step).to_list()

    def tolist(self) -> list[str]:
        return self.series.to_list()


def lines_series(lines: Sequence[str]) -> pl.Series:
    """The lines as a polars string column (free when they already are one)."""
    if isinstance(lines, Lines):
        return lines.series
    return pl.Series("line", list(lines), dtype=pl.String)


def _fast_lines(data: bytes) -> Lines | None:
    """Split UTF-8 bytes into lines with polars' CSV reader used as a line reader (all
    cores; empty lines kept, as empty strings).

    Only for text that needs no per-line clean-up (no CR, tab, form feed) and holds no
    0x1F (the field separator given to the reader). Returns None when the bytes are not
    valid UTF-8 or the reader refuses them; the caller then takes the general path.
    """
    if not data:
        return None
    try:
        df = pl.read_csv(data, has_header=False, separator="\x1f", quote_char=None,
                         schema={"line": pl.String}, raise_if_empty=False)  # fmt: skip
    except (pl.exceptions.ComputeError, pl.exceptions.PolarsError):
        return None
    return Lines(df.to_series().fill_null(""))


@dataclass
class Decoded:
    lines: list[str] | Lines = field(default_factory=list)
    encoding: str = ""
    asa: bool = False
    error: str | None = None
    error_line: int | None = None
    notes: list[str] = field(default_factory=list)


def ebcdic_decode(data: bytes, codepage: str) -> str:
    """Decode EBCDIC bytes with a charmap table (C speed)."""
    return codecs.charmap_decode(data, "strict", _DECODE_TABLES[codepage])[0]


def ebcdic_encode(text: str, codepage: str = "cp1047") -> bytes:
    """Encode text to EBCDIC (used by tests and generators); newline becomes NL (0x15)."""
    table = _DECODE_TABLES[codepage]
    rev = {ch: i for i, ch in enumerate(table)}
    rev["\n"] = 0x15
    return bytes(rev.get(ch, 0x6F) for ch in text)  # 0x6F is '?'


def _looks_ebcdic(sample: bytes) -> bool:
    if not sample:
        return False
    n = len(sample)
    ebcdic_space = sample.count(0x40)
    ascii_space = sample.count(0x20)
    # letters and digits in EBCDIC: 0x81-0xA9 (lower), 0xC1-0xE9 (upper), 0xF0-0xF9 (digits)
    alnum = sum(1 for b in sample if 0x81 <= b <= 0xA9 or 0xC1 <= b <= 0xE9 or 0xF0 <= b <= 0xF9)
    return ebcdic_space > 2 * ascii_space and (alnum + ebcdic_space) / n > 0.6


def _choose_codepage(data: bytes) -> str:
    # brackets: cp1047 [ ] = AD BD; cp037 [ ] = BA BB
    s1047 = data.count(0xAD) + data.count(0xBD)
    s037 = data.count(0xBA) + data.count(0xBB)
    return "cp037" if s037 > s1047 else "cp1047"


def _split_fixed(text: str) -> tuple[list[str], int | None]:
    for lrecl in _LRECLS:
        if len(text) % lrecl == 0 and len(text) // lrecl >= 2:
            return [text[i : i + lrecl] for i in range(0, len(text), lrecl)], lrecl
    return [text], None


def _first_line_with(data: bytes, pos: int) -> int:
    return data.count(b"\n", 0, pos) + 1


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")


def _strip_asa(lines: list[str]) -> bool:
    """Detect and remove an ASA carriage-control column in place. Returns True if found."""
    nonblank = [ln for ln in lines[:2000] if ln.strip() and not ln.startswith("#zdiag-sample")]
    if len(nonblank) < 2 or nonblank[0][:1] != "1":
        return False
    ok = sum(1 for ln in nonblank if ln[:1] in " 01-+")
    if ok < 0.98 * len(nonblank):
        return False
    # a '1' that is the start of a number (a record number, a callout) is not page eject
    if (
        re.match(r"1\d", nonblank[0])
        or re.match(r"1 \S", nonblank[0])
        and not re.match(r"1 +\S", nonblank[1] if len(nonblank) > 1 else "")
    ):
        return False
    for i, ln in enumerate(lines):
        if ln and not ln.startswith("#zdiag-sample"):
            lines[i] = ln[1:]
    return True


def decode(data: bytes, *, asa: bool | None = None, series: bool = False) -> Decoded:
    """Decode a report's bytes into lines, detecting the encoding by content.

    With ``series=True``, plain UTF-8 text (no CR, tab or form feed to clean up, no ASA
    column) comes back as :class:`Lines` (a polars column) instead of a list; the lines are
    the same.
    """
    out = Decoded()
    if not data or not data.strip(b" \t\r\n\x00\x40\x15\x25"):
        out.error, out.error_line = "empty file", 1
        out.lines = [] if not data else ["" for _ in range(max(1, data.count(b"\n")))]
        return out
    if data.startswith(codecs.BOM_UTF8):
        data = data[3:]
        out.notes.append("UTF-8 byte order mark removed")
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:  # odd length, lone surrogates: keep what reads
            text = data.decode("utf-16", errors="replace")
            out.notes.append(f"not valid UTF-16 (first bad byte at offset {exc.start})")
        out.encoding = "utf-16"
        return _finish(out, text, asa)
    if b"\x00" in data[:65536] or b"\x00" in data[-65536:]:
        pos = data.find(b"\x00")
        if pos < 0:
            pos = len(data) - 65536 + data[-65536:].find(b"\x00")
        out.error = "binary content (NUL bytes), not a text report"
        out.error_line = _first_line_with(data, pos)
        return out
    sample = data[:65536]
    if (
        b"\n" not in sample[:4096]
        and _looks_ebcdic(sample)
        or (
            _looks_ebcdic(sample)
            and sample.count(b"\n") < sample.count(b"\x15") + sample.count(b"\x25")
        )
    ):
        cp = _choose_codepage(data)
        out.encoding = cp
        raw_lines = _EBCDIC_NEWLINE.split(data)
        if raw_lines and raw_lines[-1] == b"":
            raw_lines.pop()
        text_lines = [ebcdic_decode(r, cp) for r in raw_lines]
        if len(text_lines) == 1:
            text_lines, lrecl = _split_fixed(text_lines[0])
            if lrecl:
                out.notes.append(f"no line ends: split into fixed records of {lrecl} bytes")
        return _finish_lines(out, text_lines, asa)
    if series and asa is not True and not any(c in data for c in (b"\r", b"\t", b"\f", b"\x1f")):
        fast = _fast_lines(data)
        if fast is not None:
            head = fast[:5000]
            probe = _finish_lines(Decoded(), head, False)
            if probe.error is None and (asa is False or not _strip_asa(list(head[:2000]))):
                out.encoding = "utf-8"
                out.lines = fast
                return out
    try:
        text = data.decode("utf-8")
        out.encoding = "utf-8"
    except UnicodeDecodeError as exc:
        text = data.decode("latin-1")
        out.encoding = "latin-1"
        out.notes.append(f"not UTF-8 (first bad byte at line {_first_line_with(data, exc.start)})")
    return _finish(out, text, asa)


def _finish(out: Decoded, text: str, asa: bool | None) -> Decoded:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return _finish_lines(out, lines, asa)


def _finish_lines(
    out: Decoded, lines: list[str], asa: bool | None, check_binary: bool = True
) -> Decoded:
    for i, ln in enumerate(lines):
        if ln.endswith("\r"):
            ln = ln.rstrip("\r")
        if "\t" in ln:
            ln = ln.expandtabs(8)
        if ln.startswith("\f"):
            ln = ln.lstrip("\f")
        lines[i] = ln
    # binary: many control characters that no report prints
    probe = lines[:5000]
    bad = [i for i, ln in enumerate(probe) if _CONTROL.search(ln)]
    chars = sum(len(ln) for ln in probe) or 1
    nbad = sum(len(_CONTROL.findall(probe[i])) for i in bad[:2000])
    if check_binary and bad and nbad / chars > 0.02:
        out.error = "binary content (control characters), not a text report"
        out.error_line = bad[0] + 1
        out.lines = lines
        return out
    if asa is None:
        out.asa = _strip_asa(lines)
    elif asa:
        out.asa = True
        lines[:] = [ln[1:] if ln else ln for ln in lines]
    out.lines = lines
    return out
