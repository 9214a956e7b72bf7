"""Hostile input: every registered kind's parser, through ``zdiag.pipeline.parse_source``,
on random bytes and on mutations of the real samples under ``fixtures/`` (truncation, byte
flips, line shuffles, NUL bytes, invalid UTF-8, mixed encodings, a 10 MB line).

For every input: nothing raises, every line is accounted for (parsed + layout +
unrecognised == lines), and the time per input is bounded. Kinds and samples are
discovered, so a kind that merges later is fuzzed without editing this file. The examples
are bounded here (fast, in the default run); ``python bench/fuzz.py`` runs the same
properties for as long as asked.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zdiag.decode import ebcdic_encode
from zdiag.kinds import registry
from zdiag.pipeline import parse_source
from zdiag.sources import Source

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
#: seconds one small input may take (generous: CI machines are shared)
SMALL_INPUT_SECONDS = 10.0
#: seconds an input holding one 10 MB line may take
HUGE_LINE_SECONDS = 60.0


def kind_samples() -> dict[str, list[bytes]]:
    """Real samples per registered kind: its declared samples and every fixture whose
    expected pair names the kind."""
    out: dict[str, list[Path]] = {k.name: [] for k in registry.all_kinds()}
    for k in registry.all_kinds():
        out[k.name] += [FIXTURES / s for s in k.samples if (FIXTURES / s).is_file()]
    for exp in sorted(FIXTURES.rglob("*.expected.json")):
        try:
            name = json.loads(exp.read_text(encoding="utf-8")).get("kind")
        except (OSError, ValueError):
            continue
        src = exp.with_name(exp.name[: -len(".expected.json")])
        if name in out and src.is_file() and src not in out[name]:
            out[name].append(src)
    return {k: [p.read_bytes() for p in ps] for k, ps in out.items()}


SAMPLES = kind_samples()
KINDS = sorted(SAMPLES)
#: text kinds: the encoding tests below are about decoding text, which binary kinds skip
TEXT_KINDS = [k for k in KINDS if registry.get(k).parse_bytes is None]


def check(data: bytes, kind: str | None, limit: float = SMALL_INPUT_SECONDS) -> dict:
    """Parse ``data`` as ``kind`` (or detect it): never raises, lines accounted, bounded."""
    src = Source("fuzz.txt", loader=lambda: data, size=len(data))
    t0 = time.perf_counter()
    res = parse_source(src, kind=kind)
    took = time.perf_counter() - t0
    row = res.file_row
    assert res.traceback is None, res.traceback
    assert row["parsed"] + row["layout"] + row["unrecognised"] == row["lines"], row
    if row["error"] is None and row["kind"] != "unknown":
        assert row["lines"] >= 1 or not data.strip(), row
    for name, df in res.tables.items():
        if "line" in df.columns and len(df):
            lines = df["line"].dropna()
            assert ((lines >= 1) & (lines <= max(row["lines"], 1))).all(), name
    if res.unrecognised is not None and len(res.unrecognised):
        assert len(res.unrecognised) <= row["unrecognised"] + 1
    assert took < limit, f"{took:.1f} s for {len(data)} bytes ({kind})"
    return row


# ---- mutations of real samples -------------------------------------------------------------
def _truncate(data: bytes, r: random.Random) -> bytes:
    return data[: r.randrange(len(data) + 1)]


def _flip(data: bytes, r: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(r.randint(1, 20)):
        if b:
            b[r.randrange(len(b))] = r.randrange(256)
    return bytes(b)


def _shuffle(data: bytes, r: random.Random) -> bytes:
    lines = data.split(b"\n")
    r.shuffle(lines)
    return b"\n".join(lines)


def _duplicate(data: bytes, r: random.Random) -> bytes:
    lines = data.split(b"\n")
    if lines:
        i = r.randrange(len(lines))
        lines[i:i] = lines[i : i + r.randint(1, 20)] * r.randint(1, 5)
    return b"\n".join(lines)


def _nul(data: bytes, r: random.Random) -> bytes:
    i = r.randrange(len(data) + 1)
    return data[:i] + b"\x00" * r.randint(1, 8) + data[i:]


def _bad_utf8(data: bytes, r: random.Random) -> bytes:
    i = r.randrange(len(data) + 1)
    return (
        data[:i]
        + r.choice([b"\xff\xfe", b"\xc3", b"\xe2\x82", b"\x80\x80", b"\xed\xa0\x80"])
        + data[i:]
    )


def _mixed_encoding(data: bytes, r: random.Random) -> bytes:
    lines = data.split(b"\n")
    if not lines:
        return data
    i = r.randrange(len(lines))
    text = lines[i].decode("utf-8", "replace")
    enc = r.choice(["latin-1", "cp1047", "utf-16", "cp037"])
    if enc.startswith("cp"):
        lines[i] = ebcdic_encode(text, enc)
    else:
        lines[i] = text.encode(enc, "replace")
    return b"\n".join(lines)


def _crlf_tabs(data: bytes, r: random.Random) -> bytes:
    out = data.replace(b"\n", b"\r\n") if r.random() < 0.5 else data
    return out.replace(b"  ", b"\t", r.randint(0, 50))


def _ebcdic(data: bytes, r: random.Random) -> bytes:
    return ebcdic_encode(data.decode("utf-8", "replace"), r.choice(["cp1047", "cp037"]))


def _long_line(data: bytes, r: random.Random) -> bytes:
    i = r.randrange(len(data) + 1)
    return data[:i] + r.choice([b"9", b" ", b"A", b"(", b"."]) * r.randint(1000, 100_000) + data[i:]


def _splice(data: bytes, r: random.Random) -> bytes:
    other = r.choice([s for ss in SAMPLES.values() for s in ss] or [data])
    i, j = r.randrange(len(data) + 1), r.randrange(len(other) + 1)
    return data[:i] + other[j:]


MUTATIONS = [_truncate, _flip, _shuffle, _duplicate, _nul, _bad_utf8, _mixed_encoding,
             _crlf_tabs, _ebcdic, _long_line, _splice]  # fmt: skip


def mutated(samples: list[bytes]):
    """Strategy: a real sample with 1-3 mutations applied."""
    return st.builds(
        _apply,
        st.sampled_from(samples or [b""]),
        st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=3),
        st.integers(0, 2**32 - 1),
    )


def _apply(data: bytes, muts, seed: int) -> bytes:
    r = random.Random(seed)
    for m in muts:
        data = m(data, r)
    return data


FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck),
                derandomize=True)  # fmt: skip


def test_every_kind_has_samples_to_fuzz():
    assert KINDS, "no kinds registered"
    for k in KINDS:
        assert SAMPLES[k], f"{k} has no real sample under fixtures/ to mutate"


@pytest.mark.parametrize("kind", KINDS)
def test_mutated_samples_never_break_the_parser(kind):
    @FUZZ
    @given(mutated(SAMPLES[kind]), st.booleans())
    def run(data, detect):
        check(data, None if detect else kind)

    run()


@pytest.mark.parametrize("kind", KINDS)
def test_random_bytes_never_break_the_parser(kind):
    @FUZZ
    @given(st.binary(max_size=4096) | st.text(max_size=2000).map(lambda t: t.encode()))
    def run(data):
        check(data, kind)

    run()


def test_random_bytes_with_detection():
    @FUZZ
    @given(st.binary(max_size=4096))
    def run(data):
        check(data, None)

    run()


@pytest.mark.parametrize("kind", KINDS)
def test_a_10_mb_line(kind):
    sample = SAMPLES[kind][0]
    for filler in (b"9 " * (5 * 1024 * 1024), b"A" * (10 * 1024 * 1024)):
        cut = sample.find(b"\n", len(sample) // 2) + 1
        data = sample[:cut] + filler + b"\n" + sample[cut:]
        row = check(data, kind, limit=HUGE_LINE_SECONDS)
        assert row["unrecognised"] >= 1  # the monster line is reported, not dropped


@pytest.mark.parametrize("kind", TEXT_KINDS)
def test_nul_inside_and_mixed_encodings_are_reported(kind):
    sample = SAMPLES[kind][0]
    row = check(b"\x00\x01\x02" * 100 + sample, kind)
    assert row["error"]  # binary content is an error that names a line, not a crash
    mixed = sample + "Zürich, naïve — ☃\n".encode("latin-1", "replace") + sample
    row = check(mixed, kind)
    assert row["lines"] >= sample.count(b"\n") * 2


@pytest.mark.parametrize("kind", TEXT_KINDS)
def test_broken_utf16_is_read_not_raised(kind):
    # found by bench/fuzz.py: a UTF-16 byte order mark, then an odd number of bytes
    sample = SAMPLES[kind][0].decode("utf-8", "replace")
    data = sample.encode("utf-16") + b"\n"
    row = check(data, kind)
    assert row["encoding"] == "utf-16" and "not valid UTF-16" in row["notes"]


# ---- numbers too large for 64 bits ---------------------------------------------------------
@pytest.mark.parametrize("kind", TEXT_KINDS)
def test_numbers_too_large_for_64_bits_never_fail_a_parser(kind):
    """Found by bench/fuzz.py in three kinds: a count of hundreds of digits made a strict
    integer cast fail the parser. Every digit run of every real sample, made 300 digits
    long, must leave the parser standing (the value is null where it does not fit)."""
    import re

    for data in SAMPLES[kind]:
        for digits in (300, 40, 20):  # 20: just past 2**63, where strict casts fail
            check(re.sub(rb"\d+", b"9" * digits, data), kind)
        for n, line in enumerate(data.splitlines(keepends=True)):  # one line at a time
            if re.search(rb"\d", line) and n % 13 == 0:
                lines = data.splitlines(keepends=True)
                lines[n] = re.sub(rb"\d+", b"9" * 40, line)
                check(b"".join(lines), kind)


BLANK_HEADS = {
    "spaces": [" " * 75_000 + "x"],
    "tabs and form feeds": ["\t\f " * 25_000],
    "blank lines": [""] * 5_000 + [" " * 5_000] * 10,
    "a prompt then blanks": [">" + " " * 75_000 + "y"],
}


@pytest.mark.parametrize("head", BLANK_HEADS.values(), ids=list(BLANK_HEADS))
def test_detection_is_quick_on_long_blank_runs(head):
    # a detection pattern that can read a run of blanks in two ways backtracks for seconds
    # (trmdstat's `^\s*>?\s*trmdstat`, found by bench/fuzz.py: 8 s for a 75 kB line)
    for k in registry.all_kinds():
        if k.detect is None:  # detected from bytes (pcap)
            continue
        t0 = time.perf_counter()
        k.detect(head)
        assert time.perf_counter() - t0 < 1.0, k.name
