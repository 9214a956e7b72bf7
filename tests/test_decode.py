"""decode: encodings by content, line ends, ASA, empty and binary input."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from zdiag.decode import decode, ebcdic_decode, ebcdic_encode

SAMPLE = (Path(__file__).resolve().parents[1] / "fixtures" / "systcpda"
          / "seed004_session_detail_reset_ex1.txt").read_text()  # fmt: skip


def test_utf8_and_lines():
    d = decode(SAMPLE.encode())
    assert d.encoding == "utf-8" and d.lines == SAMPLE.split("\n")[:-1] and not d.error


def test_crlf_is_removed():
    d = decode(SAMPLE.replace("\n", "\r\n").encode())
    assert d.lines == decode(SAMPLE.encode()).lines


def test_latin1_fallback():
    d = decode("Zürich Ø\n".encode("latin-1"))
    assert d.encoding == "latin-1" and d.lines == ["Zürich Ø"]


def test_ebcdic_both_codepages_with_nl_and_lf():
    for cp in ("cp1047", "cp037"):
        raw = ebcdic_encode(SAMPLE.replace("#zdiag", "[#zdiag]"), cp)
        d = decode(raw)
        assert d.encoding == cp
        assert d.lines == SAMPLE.replace("#zdiag", "[#zdiag]").split("\n")[:-1]
    lf = ebcdic_encode(SAMPLE, "cp1047").replace(b"\x15", b"\x25")
    assert decode(lf).lines == SAMPLE.split("\n")[:-1]


def test_ebcdic_fixed_records_without_line_ends():
    recs = [ln.ljust(80)[:80] for ln in SAMPLE.split("\n")[:-1]]
    raw = ebcdic_encode("".join(recs), "cp1047")
    d = decode(raw)
    assert d.encoding == "cp1047" and [r.rstrip() for r in d.lines] == [r.rstrip() for r in recs]
    assert any("fixed records of 80" in n for n in d.notes)


def test_cp1047_brackets_differ_from_cp037():
    assert ebcdic_decode(bytes([0xAD, 0xBD]), "cp1047") == "[]"
    assert ebcdic_decode(bytes([0xBA, 0xBB]), "cp037") == "[]"


def test_asa_column_removed():
    body = SAMPLE.split("\n")[:-1]
    asa = ["1" + body[0]] + [" " + ln for ln in body[1:]]
    d = decode("\n".join(asa).encode())
    assert d.asa and d.lines == body


def test_not_asa_when_first_char_is_a_number():
    d = decode(b"12 lines\n 3 more\n")
    assert not d.asa and d.lines == ["12 lines", " 3 more"]


def test_empty_and_blank_and_binary():
    assert decode(b"").error == "empty file"
    assert decode(b"  \n\n").error == "empty file"
    d = decode(b"good line\nsecond\n\x00\x01\x02binary")
    assert "binary" in d.error and d.error_line == 3
    d = decode(bytes(range(1, 32)) * 50)
    assert d.error and "binary" in d.error


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_decode_never_raises(data):
    d = decode(data)
    assert d.error or isinstance(d.lines, list)
