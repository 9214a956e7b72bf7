"""Shared by the systcpda.* kinds: the IPCS header lines, the formatter's option echo,
date separators and rulers (grammars/systcpda_common.lark), all accounted as layout."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import polars as pl

from zdiag.decode import lines_series
from zdiag.grammar import MATCH_GROUP, by_distinct, extract, matches, row_regex
from zdiag.kinds.addresses import canonical_ip
from zdiag.kinds.base import UNMARKED, Accounting

GRAMMAR = "systcpda_common"


def series(lines: list[str]) -> pl.Series:
    return lines_series(lines)


def mark_layout(lines: list[str], s: pl.Series, acct: Accounting) -> dict[int, str]:
    """Mark the shared layout lines; returns {line index: date} for `**** yyyy/mm/dd` lines.

    Only lines not yet marked are examined, so callers run their own row patterns first.
    """
    todo = np.flatnonzero(acct.status == UNMARKED)
    if not len(todo):
        return {}
    sub = s.gather(todo)
    acct.layout(todo[matches(sub, row_regex(GRAMMAR, "layout_line"))])
    dmask = matches(sub, row_regex(GRAMMAR, "date_line"))
    acct.layout(todo[dmask])
    dates = extract(sub.filter(pl.Series(dmask)), row_regex(GRAMMAR, "date_line"))["date"]
    out = {int(i): d for i, d in zip(todo[dmask], dates.to_list(), strict=True)}
    opts = matches(sub, row_regex(GRAMMAR, "options_start"))
    for i in todo[opts]:
        _mark_option_echo(lines, int(i), acct)
    return out


def _mark_option_echo(lines: list[str], start: int, acct: Accounting) -> None:
    """OPTIONS((...)) may wrap over many lines; it ends when its parentheses balance."""
    depth = 0
    for i in range(start, min(len(lines), start + 200)):
        text = re.sub(r"/\*.*?\*/", "", lines[i])
        depth += text.count("(") - text.count(")")
        acct.layout(i)
        if depth <= 0:
            return


# ---- figure callouts ---------------------------------------------------------------------
#: A published figure puts a callout number (1..9) and a blank in front of some lines,
#: replacing their leading blank(s). A line that no rule reads as it stands is tried once
#: more with such a prefix removed; a line that a rule reads as it stands is never changed.
CALLOUT = r"^ ?[1-9] "


def match_rules(
    s: pl.Series, grammar: str, rules: tuple[str, ...], todo: np.ndarray
) -> dict[str, tuple[np.ndarray, pl.DataFrame]]:
    """Match line rules of ``grammar`` in priority order over the lines ``todo``.

    Each rule claims the lines it matches (vectorised); lines left over are tried again with
    a figure callout removed. Returns {rule: (line indexes ascending, captured groups)}.
    """
    found: dict[str, list] = {r: [] for r in rules}
    remaining = np.asarray(todo, dtype=np.int64)
    sub = s.gather(remaining) if len(remaining) else s.head(0)
    for pass_no in (0, 1):
        if pass_no == 1:
            stripped = sub.str.replace(CALLOUT, "")
            changed = (stripped != sub).fill_null(False).to_numpy()
            remaining, sub = remaining[changed], stripped.filter(pl.Series(changed))
        for rule in rules:
            if not len(remaining):
                break
            pattern = row_regex(grammar, rule)
            hit = matches(sub, pattern)  # the match test first (no groups) ...
            if not hit.any():
                continue
            # ... groups only on the lines matched, once per distinct text (lines repeat)
            got = by_distinct(sub.filter(pl.Series(hit)), lambda u, p=pattern: extract(u, p))
            found[rule].append((remaining[hit], got.drop(MATCH_GROUP)))
            remaining, sub = remaining[~hit], sub.filter(pl.Series(~hit))
    out: dict[str, tuple[np.ndarray, pl.DataFrame]] = {}
    for rule, parts in found.items():
        if not parts:
            continue
        idx = np.concatenate([p[0] for p in parts])
        frame = pl.concat([p[1] for p in parts], how="vertical")
        order = np.argsort(idx, kind="stable")
        out[rule] = (idx[order], frame[order.tolist()] if len(parts) > 1 else frame)
    return out


# ---- STATISTICS / STREAMS / EXPORT print sections -----------------------------------------
SECTION_RULES = ("stream_session", "stream_period", "key_heading", "key_row", "key_total",
                 "counter_line")  # fmt: skip
_TITLE = re.compile(
    r"^\s*(?:[1-9] )?\s*(SYSTCP[A-Z]{2} Trace Statistics|[A-Z][A-Za-z ]*? Report)\s*$"
)


def _num(col: pl.Series) -> np.ndarray:
    return col.str.replace_all(",", "").cast(pl.Int64, strict=False).to_numpy()


def _stamp(date: pl.Series, time: pl.Series) -> pd.Series:
    """``yyyy/mm/dd`` + ``hh:mm:ss[.ffffff]`` (or ``hh.mm.ss``) → datetime64[us]."""
    clock = time.str.replace(r"^(\d\d)[:.](\d\d)[:.](\d\d)$", "$1:$2:$3.0").str.replace(
        r"^(\d\d)[:.](\d\d)[:.](\d\d)\.", "$1:$2:$3."
    )
    text = pd.Series((date + " " + clock).to_list(), dtype=object)
    return pd.to_datetime(text, format="%Y/%m/%d %H:%M:%S.%f", errors="coerce").astype(
        "datetime64[us]"
    )


def _section_titles(lines: list[str], s: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Positions and names of report titles (`Record Type Report`, `... Trace Statistics`)."""
    got = s.str.extract(_TITLE.pattern, 1)
    hit = got.is_not_null().to_numpy()
    names = got.filter(pl.Series(hit)).str.replace(r" Report$", "").to_numpy()
    return np.flatnonzero(hit), names.astype(object)


def _context(pos: np.ndarray, names: np.ndarray, rows: np.ndarray) -> np.ndarray:
    if not len(pos):
        return np.full(len(rows), None, dtype=object)
    k = np.searchsorted(pos, rows, side="right") - 1
    return np.where(k >= 0, names[np.clip(k, 0, None)], None).astype(object)


def parse_sections(lines: list[str], s: pl.Series, acct: Accounting) -> dict[str, pd.DataFrame]:
    """Read the STATISTICS counters and per-key tables and the STREAMS blocks among the
    lines still unmarked. Returns tables ``trace_stats`` and ``streams`` (when present)."""
    from zdiag.tables import STR  # local: tables imports nothing from kinds

    todo = np.flatnonzero(acct.status == UNMARKED)
    hits = match_rules(s, GRAMMAR, SECTION_RULES, todo)
    if not hits:
        return {}
    tpos, tnames = _section_titles(lines, s)
    out: dict[str, pd.DataFrame] = {}

    # key tables: the heading names the key; rows below it belong to it
    hpos = np.array([], dtype=np.int64)
    hnames = np.array([], dtype=object)
    if "key_heading" in hits:
        hpos, frame = hits["key_heading"]
        hnames = frame["key_name"].to_numpy().astype(object)
        acct.layout(hpos)
    parts = []
    for rule in ("key_row", "key_total"):
        if rule not in hits:
            continue
        idx, f = hits[rule]
        acct.parsed(idx)
        n = len(idx)
        cols = {
            "line": pd.array(idx + 1, dtype="Int64"),
            "report": pd.array(_context(hpos, hnames, idx), dtype=STR),
            "name": pd.array(["row" if rule == "key_row" else "total"] * n, dtype=STR),
            "key": pd.array(
                f["key"].to_list() if rule == "key_row" else ["Total"] * n, dtype=STR
            ),  # fmt: skip
        }
        for c, src in (("total", "total"), ("input_count", "in_count"),
                       ("input_bytes", "in_bytes"), ("output_count", "out_count"),
                       ("output_bytes", "out_bytes")):  # fmt: skip
            cols[c] = pd.array(_num(f[src]), dtype="Int64")
        if rule == "key_row":
            cols["first_nr"] = pd.array(_num(f["first_nr"]), dtype="Int64")
            cols["first_ts"] = _stamp(f["first_date"], f["first_time"]).array
            cols["last_nr"] = pd.array(_num(f["last_nr"]), dtype="Int64")
            cols["last_ts"] = _stamp(f["last_date"], f["last_time"]).array
        parts.append(pd.DataFrame(cols))

    # streams: `Session:` opens a block; `From: .. to: ..` and `<n> packets found` fill it
    spos = np.array([], dtype=np.int64)
    if "stream_session" in hits:
        spos, f = hits["stream_session"]
        acct.parsed(spos)
        ip_a, ip_b = f["ip_a"].to_list(), f["ip_b"].to_list()
        st = pd.DataFrame(
            {
                "line": pd.array(spos + 1, dtype="Int64"),
                "protocol": pd.array(f["stream_proto"].to_list(), dtype=STR),
                "ip_a": pd.array([canonical_ip(v) for v in ip_a], dtype=STR),
                "port_a": pd.array(_num(f["port_a"]), dtype="Int64"),
                "ip_b": pd.array([canonical_ip(v) for v in ip_b], dtype=STR),
                "port_b": pd.array(_num(f["port_b"]), dtype="Int64"),
                "first_ts": pd.Series(pd.NaT, index=range(len(spos)), dtype="datetime64[us]"),
                "last_ts": pd.Series(pd.NaT, index=range(len(spos)), dtype="datetime64[us]"),
                "packets": pd.array([None] * len(spos), dtype="Int64"),
            }
        )
        st.insert(1, "stream", pd.array(
            [f"{a}:{pa}-{b}:{pb}" for a, pa, b, pb in zip(
                st["ip_a"], st["port_a"], st["ip_b"], st["port_b"], strict=True)], dtype=STR))  # fmt: skip
        out["streams"] = st
    if "stream_period" in hits:
        idx, f = hits["stream_period"]
        k = np.searchsorted(spos, idx, side="right") - 1
        ok = k >= 0
        acct.parsed(idx[ok])
        acct.unrecognised(idx[~ok], "'From: .. to: ..' outside a STREAMS 'Session:' block")
        if ok.any():
            st = out["streams"]
            first = _stamp(f["first_date"], f["first_time"]).to_numpy()
            last = _stamp(f["last_date"], f["last_time"]).to_numpy()
            st.loc[k[ok], "first_ts"] = first[ok]
            st.loc[k[ok], "last_ts"] = last[ok]

    if "counter_line" in hits:
        idx, f = hits["counter_line"]
        acct.parsed(idx)
        names = f["counter_name"].to_numpy().astype(object)
        values = _num(f["count"])
        # `<n> packets found` right under a stream block header is that stream's count
        k = np.searchsorted(spos, idx, side="right") - 1
        later_title = np.searchsorted(tpos, idx, side="right") - 1
        title_at = np.where(later_title >= 0, tpos[np.clip(later_title, 0, None)], -1) if len(
            tpos) else np.full(len(idx), -1)  # fmt: skip
        in_stream = (names == "packets found") & (k >= 0)
        if len(spos):
            in_stream &= spos[np.clip(k, 0, None)] > title_at
        if in_stream.any():
            out["streams"].loc[k[in_stream], "packets"] = values[in_stream]
        rest = ~in_stream
        if rest.any():
            n = int(rest.sum())
            parts.append(
                pd.DataFrame(
                    {
                        "line": pd.array(idx[rest] + 1, dtype="Int64"),
                        "report": pd.array(_context(tpos, tnames, idx[rest]), dtype=STR),
                        "name": pd.array(names[rest], dtype=STR),
                        "value": pd.array(values[rest], dtype="Int64"),
                        "key": pd.array([None] * n, dtype=STR),
                    }
                )
            )
    if parts:
        stats = pd.concat(parts, ignore_index=True).sort_values("line", kind="stable")
        out["trace_stats"] = stats.reset_index(drop=True)
    if "streams" in out:
        out["streams"]["first_ts"] = out["streams"]["first_ts"].astype("datetime64[us]")
        out["streams"]["last_ts"] = out["streams"]["last_ts"].astype("datetime64[us]")
    return out
