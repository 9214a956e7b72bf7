"""Kind ``trmdstat``: TRMD ``trmdstat`` reports, as events in the ``messages`` table.

Each report line that summarises syslogd messages becomes a row whose ``msg_id`` is the
message the line stands for:
- ``-GD`` (global TCP stall detail): an ``Enter`` row is EZZ8671I, an ``Exit`` row EZZ8672I,
  with ``ts`` (the row's own date and time), stalledpct, totalconn, smallwinpct,
  writeblkpct, duration_s, correlator and action typed as in the messages' templates;
- ``-G`` (global TCP stall summary): ``Global TCP Stall Entered/Exited: n`` are EZZ8671I /
  EZZ8672I rows with ``count``; ``Global TCP Stall Duration: s`` an EZZ8672I row with
  ``duration_s``; the ``Remote IP Address  Count`` rows under "Connections Reset" are
  EZZ8673I, under "Connections Would Have Been Reset" EZZ8674I (``remote_ip``, ``count``).
``report`` says which report (``-G``, ``-GD``) a row came from, ``event`` the row's type.
Title, header, headings, rulers and "No records to display" are layout.
Confirmed from real (published) text: -GD and -G only; -Q and the other reports were not
seen, so their lines are left unrecognised rather than guessed.

Grammar: grammars/trmdstat.lark; each line rule's row pattern runs over all lines (polars).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import polars as pl

from zdiag.decode import lines_series
from zdiag.grammar import MATCH_GROUP, extract, row_regex
from zdiag.kinds import messages_common as mc
from zdiag.kinds.base import UNMARKED, Accounting, Kind
from zdiag.kinds.registry import register
from zdiag.tables import STR

GRAMMAR = "trmdstat"
LAYOUT_RULES = ("title_line", "prompt_line", "header_line", "ruler")
SECTIONS = {
    "global tcp stall events": None,
    "global tcp stall summary": None,
    "connections reset": "EZZ8673I",
    "connections would have been reset": "EZZ8674I",
}
COUNT_IDS = {"Entered": ("EZZ8671I", "count"), "Exited": ("EZZ8672I", "count"),
             "Duration": ("EZZ8672I", "duration_s")}  # fmt: skip


def _rule(s: pl.Series, idx: np.ndarray, rule: str) -> tuple[np.ndarray, pl.DataFrame]:
    got = extract(s.gather(idx), row_regex(GRAMMAR, rule))
    hit = got[MATCH_GROUP].is_not_null().to_numpy()
    return idx[hit], got.filter(pl.Series(hit))


def parse(lines: list[str], acct: Accounting) -> dict[str, pd.DataFrame]:
    return parse_chunk(lines, acct, {})[0]


_NO_SECTION = "-"


def parse_chunk(lines, acct: Accounting, state: dict) -> tuple[dict[str, pd.DataFrame], dict]:
    """Parse one piece of a trmdstat report (every row is one line, so the pipeline may cut
    before any line, :data:`CHUNK_AT`). ``state`` carries what a row needs from the lines
    above it: the report (``-G``/``-GD``, from the first title or prompt), the message id
    of the ``Connections ...`` section open at the end of the piece (``section``), and the
    column spans of the first ``-GD`` ruler (``spans``). Returns the tables (lines numbered
    within the piece) and the state for the next piece."""
    s = lines_series(lines)
    remaining = acct.status == UNMARKED
    found: dict[str, tuple[np.ndarray, pl.DataFrame]] = {}
    for rule in (*LAYOUT_RULES, "stall_row", "count_line", "remote_row", "words_line"):
        idx = np.flatnonzero(remaining)
        if not len(idx):
            break
        pos, g = _rule(s, idx, rule)
        remaining[pos] = False
        found[rule] = (pos, g)
    for rule in LAYOUT_RULES:
        if rule in found:
            acct.layout(found[rule][0])
    acct.unrecognised(
        np.flatnonzero(remaining), "trmdstat line of a report layout zdiag does not know"
    )
    report = state.get("report") or _report_of(found.get("header_line"), found.get("prompt_line"))
    spans = state.get("spans") or _ruler_spans(lines, found.get("ruler"))
    frames = []
    if "stall_row" in found:
        frames.append(_stall_rows(lines, *found["stall_row"], spans))
    sect_pos, sect_id = _sections(found.get("words_line"), acct)
    after = {**state, "report": report, "spans": spans}
    if len(sect_id):
        after["section"] = sect_id[-1] or _NO_SECTION
    if state.get("section"):  # the section open above the piece's first line
        sect_pos = np.r_[np.int64(-1), sect_pos]
        sect_id = [None if state["section"] == _NO_SECTION else state["section"], *sect_id]
    if "count_line" in found:
        pos, g = found["count_line"]
        label = g["count_label"].str.extract(r"(\w+)$", 1).to_list()
        num = g["count"].cast(pl.Int64, strict=False).to_numpy()
        df = pd.DataFrame({"line": pos + 1, "msg_id": [COUNT_IDS[k][0] for k in label],
                           "event": [f"stall {k.lower()}" for k in label]})  # fmt: skip
        for col in ("count", "duration_s"):
            df[col] = [n if COUNT_IDS[k][1] == col else None for k, n in zip(label, num,
                                                                             strict=True)]  # fmt: skip
        frames.append(df)
    if "remote_row" in found:
        pos, g = found["remote_row"]
        k = np.searchsorted(sect_pos, pos, side="right") - 1
        ids = np.where(k >= 0, np.array(sect_id + [None], dtype=object)[k], None)
        frames.append(
            pd.DataFrame(
                {
                    "line": pos + 1,
                    "msg_id": ids,
                    "event": "connections",
                    "remote_ip": g["remote_ip"]
                    .replace_strict(
                        {v: mc.canonical_ip(v) for v in g["remote_ip"].unique().to_list()}
                    )
                    .to_list(),
                    "count": g["remote_count"].cast(pl.Int64, strict=False).to_numpy(),
                }
            )
        )
        orphan = pos[pd.isna(ids)]
        acct.unrecognised(orphan, "address count row outside a Connections section")
    frames = [f for f in frames if len(f)]
    if not frames:
        return {}, after
    df = pd.concat(frames, ignore_index=True).sort_values("line", kind="stable")
    df = df.reset_index(drop=True)
    ok = df["msg_id"].notna().to_numpy()
    acct.parsed(df["line"].to_numpy()[ok] - 1)
    df = df[ok].reset_index(drop=True)
    msg = pl.Series(df["msg_id"].astype(object).tolist(), dtype=pl.String)
    prefix, severity = mc.split_ids(msg)
    text = lines_series(lines).gather(df["line"].to_numpy() - 1).str.strip_chars()
    text = text.to_list()
    out = pd.DataFrame({"line": pd.array(df["line"], dtype="Int64")})
    out["ts"] = pd.Series(df.get("ts", pd.Series([pd.NaT] * len(df)))).astype("datetime64[us]")
    out["msg_id"] = pd.array(msg.to_list(), dtype=STR)
    out["prefix"] = pd.array(prefix.to_list(), dtype=STR)
    out["severity"] = pd.array(severity.to_list(), dtype=STR)
    out["text"] = pd.array(text, dtype=STR)
    for col, dtype in (("totalconn", "Int64"), ("stalledpct", "Int64"), ("smallwinpct", "Int64"),
                       ("writeblkpct", "Int64"), ("duration_s", "Float64"),
                       ("action", STR), ("correlator", "Int64"), ("remote_ip", STR),
                       ("count", "Int64"), ("event", STR)):  # fmt: skip
        vals = df[col] if col in df.columns else pd.Series([None] * len(df))
        if dtype in ("Int64", "Float64"):
            out[col] = pd.to_numeric(vals, errors="coerce").astype(dtype).to_numpy()
            out[col] = out[col].astype(dtype)
        else:
            out[col] = pd.array(vals.astype(object).where(vals.notna(), None), dtype=dtype)
    out["report"] = pd.array([report] * len(out), dtype=STR)
    out["layout"] = pd.array([f"trmdstat {report}" if report else "trmdstat"] * len(out),
                             dtype=STR)  # fmt: skip
    return {"messages": out}, after


def _report_of(header, prompt) -> str | None:
    texts = []
    if header is not None:
        texts += header[1]["rest"].to_list()
    if prompt is not None:
        texts += [t for t in prompt[1]["rest"].to_list() if t]
    for t in texts:
        m = re.search(r"(?:^|\s)(-[A-Za-z]+)", t)
        if m:
            return m.group(1)
    return None


def _sections(words, acct: Accounting) -> tuple[np.ndarray, list]:
    if words is None:
        return np.array([], dtype=np.int64), []
    pos, g = words
    acct.layout(pos)  # section titles, column headings, "No records to display"
    title = g["words"].str.strip_chars().str.to_lowercase().str.replace_all(r"\s+", " ")
    is_sect = title.is_in(list(SECTIONS)).to_numpy()
    return pos[is_sect], [SECTIONS[t] for t in title.filter(pl.Series(is_sect)).to_list()]


def _stall_rows(lines, pos: np.ndarray, g: pl.DataFrame, spans) -> pd.DataFrame:
    """-GD detail rows; a lone number after the percentages is Duration or Correlator."""
    dur = g["duration"].to_list()
    cor = g["correlator"].to_list()
    typ = g["type"].to_list()
    for k in np.flatnonzero([d is not None and c is None for d, c in zip(dur, cor, strict=True)]):
        # only these ambiguous rows (one per stall event) are looked at one by one
        if _is_correlator(lines[pos[k]], dur[k], typ[k], spans):
            dur[k], cor[k] = None, dur[k]
    stamp = g["date"] + " " + g["clock"]
    ts = pd.to_datetime(pd.Series(stamp.to_list()), format="%m/%d/%Y %H:%M:%S.%f",
                        errors="coerce")  # fmt: skip
    return pd.DataFrame(
        {
            "line": pos + 1,
            "ts": ts,
            "msg_id": np.where(np.array(typ) == "Enter", "EZZ8671I", "EZZ8672I"),
            "event": [f"stall {t.lower()}" for t in typ],
            "stalledpct": g["stalled"].cast(pl.Int64, strict=False).to_numpy(),
            "totalconn": g["totalconn"].cast(pl.Int64, strict=False).to_numpy(),
            "smallwinpct": g["smallwin"].cast(pl.Int64, strict=False).to_numpy(),
            "writeblkpct": g["writeblk"].cast(pl.Int64, strict=False).to_numpy(),
            # a number too long for Python's int() (or for 64 bits) is no number: null
            "duration_s": pd.to_numeric(pd.Series(dur, dtype=object), errors="coerce"),
            "correlator": pl.Series(cor, dtype=pl.String).cast(pl.Int64, strict=False).to_numpy(),
            "action": g["action"].to_list(),
        }
    )


def _ruler_spans(lines, ruler) -> list[tuple[int, int]]:
    if ruler is None or not len(ruler[0]):
        return []
    text = lines[int(ruler[0][0])]
    return [(m.start(), m.end()) for m in re.finditer(r"-+", text)]


def _is_correlator(line: str, number: str, typ: str, spans) -> bool:
    if len(spans) >= 8:
        m = re.search(rf"(?<=\s){re.escape(number)}(?=\s|$)", line[spans[5][1] :])
        if m:
            end = spans[5][1] + m.end()
            return end > spans[6][1]
    return typ == "Enter"  # an Enter row never has a duration (FORMATS §2.5)


#: where a large report may be cut (zdiag.stream): before any line that is not blank (each
#: row is one line; what a row needs from above is carried in the state)
CHUNK_AT = re.compile(rb"(?m)^[ \t]*\S")


def detect(head: list[str]) -> float:
    text = "\n".join(head)
    # blanks within the line only, and one way to read them: `\s*>?\s*` over a long run of
    # blanks (and line ends) backtracked for seconds (found by bench/fuzz.py)
    if re.search(r"^[^\S\n]*(?:>[^\S\n]*)?trmdstat\b", text, re.M) and (
        "TRM Records Scanned" in text or "Global TCP Stall" in text or "trmdstat for" in text
    ):
        return 0.9
    return 0.0


register(
    Kind(
        name="trmdstat",
        description="TRMD trmdstat reports (-G global TCP stall summary, -GD detail) as "
        "message events (EZZ8671I-EZZ8674I) with counts and timestamps",
        tables=("messages",),
        detect=detect,
        parse=parse,
        grammar=GRAMMAR,
        samples=(
            "messages/trmdstat_GD_global_stall_detail_v2r1.txt",
            "messages/trmdstat_G_global_stall_summary_v2r1_wscollapsed.txt",
        ),  # fmt: skip
        extra={
            "lines": "series",
            # large reports are parsed piece by piece; see zdiag.stream
            "chunk_marker": CHUNK_AT,
            "parse_chunk": parse_chunk,
        },
        path="line rules: grammar row patterns, polars (vectorised)",
    )
)
