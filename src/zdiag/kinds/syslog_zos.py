"""Kind ``syslog.zos``: z/OS message logs holding EZZ/EZD/EZA/EZB/EZY/IST/IEE… messages.

Layouts (one rule each in grammars/syslog_zos.lark, compiled to row patterns and run with
polars over all lines at once):
- JES2 SYSLOG / OPERLOG hardcopy records (SDSF columns: record type, request type, routing
  codes, system, ``yyddd`` date, ``hh:mm:ss.hh``, job id / console, user-exit flags, text);
  multi-line messages (``M`` first line ending with its connect id, ``D``/``L``/``E`` lines
  carrying that id) are joined by the connect id, not by adjacency (to the latest ``M``
  line with that id above; a record after that message's ``E`` end record, or with no ``M``
  line above, is kept as a fragment row of its own);
- syslogd lines, RFC 3164 (``Mmm dd hh:mm:ss host tag[pid]: text``) or ISO 8601 stamped;
- console captures with an ``hh:mm:ss`` prefix (continuation: same prefix, indented further);
- another program's log line (``yyyy-mm-dd hh:mm:ss …``) with a message id in its text;
- bare messages as a job log or a manual prints them (``EZZ8672I …``), where lines with no
  prefix and no id continue the message above (the manual wraps one syslogd record);
- OPERLOG through the z/OSMF REST API (JSON, or the same object as a script literal).

Table ``messages``: one row per message: ``ts``, ``host``, ``job`` (job id, console or
syslogd tag), ``msg_id``, ``prefix``, ``severity``, ``text`` (lines joined by one blank),
``layout``, for JES2 records ``record_type`` (``N``, ``M``, ``NC`` command, ``NR``
response …) and ``multiline_id``, and the typed fields of the message's template (grammars/messages/).

Timestamps (naive, as printed): JES2 ``yyddd`` is a Julian date (``%y%j``). syslogd's
``Mmm dd`` has no year: the year of the first message in the file that prints a full date
(TRMD messages do) is used, else 1900 (as Python's strptime does), and a year is added when
the month goes back. A time-only console prefix gets 1900-01-01 and a day is added when the
clock goes back by more than 12 hours. Where a log prints no time at all, the message's own
date and time (``event_ts``) stands in.
"""

from __future__ import annotations

import functools
import json
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

GRAMMAR = "syslog_zos"
RULES = ("jes2_line", "jes2_cont", "syslogd_line", "syslogd_iso_line", "console_line",
         "iso_line", "msg_line")  # fmt: skip
#: layouts whose following unprefixed lines continue the message (manual / job log wraps)
WRAPPING = ("msg_line", "syslogd_line", "syslogd_iso_line")
NO_YEAR = 1900
_COLS = ("pos", "role", "layout", "text", "stamp", "host", "job", "pid", "cid")


def _frame(pos, role, layout, text, stamp=None, host=None, job=None, pid=None, cid=None,
           rec=None):  # fmt: skip
    n = len(pos)

    def col(v):
        if v is None:
            return pl.Series([None] * n, dtype=pl.String)
        return v.cast(pl.String) if isinstance(v, pl.Series) else pl.Series(v, dtype=pl.String)

    return pl.DataFrame(
        {
            "pos": pl.Series(pos, dtype=pl.Int64),
            "role": pl.Series([role] * n, dtype=pl.String),
            "layout": pl.Series([layout] * n, dtype=pl.String),
            "text": col(text).str.strip_chars(),
            "stamp": col(stamp),
            "host": col(host),
            "job": col(job),
            "pid": col(pid),
            "cid": col(cid),
            "rec": col(rec),
        }
    )


def parse(lines: list[str], acct: Accounting) -> dict[str, pd.DataFrame]:
    return parse_chunk(lines, acct, {})[0]


def parse_chunk(lines, acct: Accounting, state: dict) -> tuple[dict[str, pd.DataFrame], dict]:
    """Parse one piece of a log that the pipeline cut just before a message's first line
    (see :class:`CutPoints`). ``state`` carries what the pieces before leave unfinished:

    - ``open``: JES2 multi-line messages whose end record (``E``) has not been seen, as
      polars rows (``pos`` 0-based in the file, time stamp already made, ``tail`` the
      continuation text so far); a continuation record in this piece joins them by connect
      id as it would in a whole parse, and the message's row (its first record's ``line``)
      is given by the piece where it ends, where a newer ``M`` line takes its connect id,
      or by the last piece (``last``, default true: a whole parse holds nothing back);
    - the console clock of the last message and the days rolled (``console_secs``,
      ``console_days``), and the syslogd year inference (``year`` once fixed, ``dated_year``
      of the first dated message, the last syslogd ``month`` and the years added, ``bump``).

    Returns the tables (lines numbered within the piece: a message carried from an earlier
    piece has a line <= 0 here) and the state for the next piece.
    """
    if _is_json(lines):
        return {"messages": _parse_json(lines, acct)}, state
    line0 = state.get("line0", 0)
    last = state.get("last", True)
    carried = state.get("open")
    if carried is not None:
        carried = carried.with_columns(pl.col("pos") - line0).with_columns(head=pl.col("pos"))
    s = lines_series(lines)
    remaining = acct.status == UNMARKED
    frames: list[pl.DataFrame] = []
    for rule in RULES:
        idx = np.flatnonzero(remaining)
        if not len(idx):
            break
        got = extract(s.gather(idx), row_regex(GRAMMAR, rule))
        hit = got[MATCH_GROUP].is_not_null().to_numpy()
        if not hit.any():
            continue
        g = got.filter(pl.Series(hit))
        pos = idx[hit]
        remaining[pos] = False
        frames.append(_rule_frame(rule, pos, g, s))
    # lines no rule matched: continuation of a wrapped message, or not ours
    free = np.flatnonzero(remaining)
    if len(free):
        frames.append(_frame(free, "free", "", s.gather(free).str.strip_chars()))
    if not frames and carried is None:
        return {}, state
    recs = pl.concat(frames).sort("pos") if frames else _frame([], "head", "", [])
    heads, conts, bad = _attach(recs, carried)
    acct.unrecognised(
        bad.to_numpy(),
        "no message id, time stamp or record prefix, and no message above to continue",
    )
    acct.parsed(heads["pos"].to_numpy())
    acct.parsed(conts["pos"].to_numpy())
    after = {k: v for k, v in state.items() if k not in ("open", "line0", "last", "prepared")}
    if len(heads):
        ts, carry = _timestamps(heads, state)
        heads = heads.with_columns(ts=ts, tail=pl.lit(None, dtype=pl.String))
        after.update(carry)
    else:
        heads = heads.with_columns(ts=pl.lit(None, dtype=pl.Datetime("us")),
                                   tail=pl.lit(None, dtype=pl.String))  # fmt: skip
    if carried is not None:
        heads = pl.concat([carried.select(heads.columns), heads])
    # only messages with continuation lines need a join; most are one line
    tails = (
        conts.sort("pos")
        .group_by("head", maintain_order=True)
        .agg(
            pl.col("text").fill_null("").str.join(" ").alias("more"),
            pl.col("rec").eq("E").any().alias("ended"),
        )  # fmt: skip
    )
    heads = heads.join(tails, on="head", how="left").sort("pos")
    heads = heads.with_columns(
        tail=pl.when(pl.col("tail").is_null())
        .then(pl.col("more"))
        .when(pl.col("more").is_null())
        .then(pl.col("tail"))
        .otherwise(pl.concat_str([pl.col("tail"), pl.col("more")], separator=" "))
    )
    # a JES2 multi-line message stays open until its end record or a newer M line with its
    # connect id (continuations then join that one), unless the file ends here
    superseded = pl.col("pos") != pl.col("pos").max().over("cid", "layout")
    still = (
        (pl.col("layout") == "jes2_line")
        & pl.col("cid").is_not_null()
        & ~pl.col("ended").fill_null(False)
        & ~superseded
    )
    hold = pl.lit(False) if last else still
    heads = heads.with_columns(hold=hold)
    held = heads.filter(pl.col("hold"))
    after["open"] = (
        held.select(pl.exclude("hold", "more", "ended")).with_columns(pl.col("pos") + line0)
        if len(held)
        else None
    )
    heads = heads.filter(~pl.col("hold"))
    if not len(heads):
        return {}, after
    text = pl.select(
        pl.when(heads["tail"].is_null())
        .then(heads["text"].fill_null(""))
        .otherwise(pl.concat_str([heads["text"].fill_null(""), heads["tail"]], separator=" "))
    ).to_series()
    ts = heads["ts"].to_pandas().astype("datetime64[us]")
    df = mc.message_frame(
        heads["pos"].to_numpy() + 1,
        text,
        ts=ts,
        host=mc.to_pandas(heads["host"]),
        job=mc.to_pandas(heads["job"]),
    )
    df["layout"] = mc.to_pandas(heads["layout"])
    df["pid"] = mc.to_pandas(heads["pid"], "int")
    df["multiline_id"] = mc.to_pandas(heads["cid"])
    # JES2 record type and request type as printed: N/M/W/O/X (+ C command, R response)
    df["record_type"] = mc.to_pandas(heads["rec"])
    after.update(_syslog_years(df, heads, {**state, **after}))
    return {"messages": df}, after


def _where(mask: np.ndarray, a: pl.Series, b: pl.Series | None) -> pl.Series:
    other = pl.lit(None, dtype=pl.String) if b is None else pl.lit(b)
    return pl.select(pl.when(pl.lit(pl.Series(mask))).then(pl.lit(a)).otherwise(other)).to_series()


def _rule_frame(rule: str, pos: np.ndarray, g: pl.DataFrame, s: pl.Series) -> pl.DataFrame:
    if rule == "jes2_line":
        rtype = g["rec_head"].str.slice(0, 1)
        text = g["text"].fill_null("")
        is_m = (rtype == "M").to_numpy()
        cid = text.str.extract(r"\s(\d{1,8})$", 1)
        cid = _where(is_m, cid, None)
        text = _where(is_m & cid.is_not_null().to_numpy(),
                      text.str.replace(r"\s+\d{1,8}$", ""), text)  # fmt: skip
        stamp = g["jdate"] + " " + g["clock"].str.replace(",", ".")
        rec = g["rec_head"].str.slice(0, 2).str.strip_chars()
        return _frame(pos, "head", rule, text, stamp, g["system"], g["jobid"], None, cid, rec)
    if rule == "jes2_cont":
        return _frame(pos, "jes2cont", rule, g["text"], None, None, None, None, g["connect_id"],
                      g["rec_cont"])  # fmt: skip
    if rule in ("syslogd_line", "syslogd_iso_line"):
        tag = g["tag"]
        pid = tag.str.extract(r"\[(\d+)\]$", 1)
        job = tag.str.replace(r"\[\d+\]$", "")
        if rule == "syslogd_line":
            stamp = g["month"] + " " + g["day"].str.zfill(2) + " " + g["clock"]
        else:
            stamp = g["iso_stamp"].str.replace(r"(?:Z|[+-]\d\d:?\d\d)$", "")
        return _frame(pos, "head", rule, g["text"], stamp, g["host"], job, pid, None)
    if rule == "console_line":
        raw = s.gather(pos)
        indent = raw.str.extract(r"^\s*\S+( +)", 1).str.len_chars().to_numpy()
        starts_id = g["text"].str.contains(rf"^{mc.MSG_ID_RX}\b").to_numpy()
        cont = (indent > 2) & ~starts_id
        heads = _frame(pos[~cont], "head", rule, g["text"].filter(pl.Series(~cont)),
                       g["clock"].filter(pl.Series(~cont)))  # fmt: skip
        conts = _frame(pos[cont], "cont", rule, g["text"].filter(pl.Series(cont)))
        return pl.concat([heads, conts])
    if rule == "iso_line":
        text = g["text"]
        from_id = text.str.extract(rf"({mc.MSG_ID_ANYWHERE}.*)$", 1)
        text = from_id.fill_null(text)
        # "(EZZ2385I ... 00000008)": the closing parenthesis belongs to the other program
        opened = g["text"].str.contains(rf"\({mc.MSG_ID_ANYWHERE}").to_numpy()
        text = _where(opened, text.str.replace(r"\)\s*$", ""), text)
        return _frame(pos, "head", rule, text, g["iso_date"] + " " + g["clock"])
    # msg_line
    text = g.select(
        pl.concat_str([pl.col("msg_id"), pl.col("text").fill_null("")], separator=" ")
    ).to_series()
    return _frame(pos, "head", rule, text)


def _attach(
    recs: pl.DataFrame, carried: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, pl.DataFrame, pl.Series]:
    """Give every continuation the position of its message's first line (``head``).

    ``carried``: JES2 multi-line messages still open from earlier pieces (``pos`` < 0)."""
    heads = recs.filter(pl.col("role") == "head").with_columns(head=pl.col("pos"))
    # JES2 continuation records: by connect id, the latest M line with that id above, unless
    # that message has already ended (an E record): then the record is a fragment of its own
    jc = recs.filter(pl.col("role") == "jes2cont")
    m_lines = heads.filter(pl.col("cid").is_not_null()).select("pos", "cid", head=pl.col("pos"))
    if carried is not None:
        m_lines = pl.concat([carried.select("pos", "cid", head=pl.col("pos")), m_lines])
    jc = jc.join_asof(m_lines.sort("pos"), on="pos", by="cid", strategy="backward",
                     check_sortedness=False)  # fmt: skip
    end = pl.col("pos").filter(pl.col("rec") == "E").min().over("head")
    jc = jc.with_columns(head=pl.when(end.is_null() | (pl.col("pos") <= end)).then(pl.col("head")))
    orphans = jc.filter(pl.col("head").is_null()).with_columns(
        role=pl.lit("head"), head=pl.col("pos")
    )  # an extract that starts inside a multi-line message: keep the fragment as a row
    jc = jc.filter(pl.col("head").is_not_null())
    heads = pl.concat([heads, orphans.select(heads.columns)]).sort("pos")
    # other continuations: the message right above, if its layout wraps that way
    other = recs.filter(pl.col("role").is_in(["cont", "free"]))
    above = heads.select("pos", head=pl.col("pos"), head_layout=pl.col("layout"))
    other = other.join_asof(above, on="pos", strategy="backward")
    ok = ((pl.col("role") == "cont") & (pl.col("head_layout") == pl.col("layout"))) | (
        (pl.col("role") == "free") & pl.col("head_layout").is_in(list(WRAPPING))
    )
    good = other.filter(ok.fill_null(False))
    bad = other.filter(~ok.fill_null(False))["pos"]
    conts = pl.concat(
        [jc.select("pos", "head", "text", "rec"), good.select("pos", "head", "text", "rec")]
    )
    return heads, conts, bad


def _parse_ts(stamp: pl.Series, fmt: str) -> pl.Series:
    return stamp.str.replace(",", ".", literal=True).str.strptime(
        pl.Datetime("us"), fmt, strict=False
    )


def _timestamps(heads: pl.DataFrame, carry: dict) -> tuple[pl.Series, dict]:
    """The log's own time stamp of each message (polars; see the module docstring), and the
    console clock state after the last message (``carry`` is the one before the first)."""
    layout, stamp = heads["layout"], heads["stamp"]
    iso = _parse_ts(stamp.str.replace("T", " ", literal=True), "%Y-%m-%d %H:%M:%S%.f")
    jes2 = _parse_ts(stamp, "%y%j %H:%M:%S%.f").fill_null(_parse_ts(stamp, "%Y%j %H:%M:%S%.f"))
    console = _parse_ts("1900-01-01 " + stamp, "%Y-%m-%d %H:%M:%S%.f")
    frame = pl.DataFrame({"layout": layout, "iso": iso, "jes2": jes2, "console": console})
    is_console = pl.col("layout") == "console_line"
    # a time-only prefix: a day is added each time the clock goes back by over 12 hours
    secs = pl.col("console").dt.epoch("s")
    prev = secs.shift(1, fill_value=carry.get("console_secs"))
    back = ((secs - prev).fill_null(0) < -43200).cast(pl.Int64)
    days = pl.when(is_console).then(back).otherwise(0).cum_sum() + carry.get("console_days", 0)
    ts = (
        pl.when(pl.col("layout") == "jes2_line")
        .then(pl.col("jes2"))
        .when(pl.col("layout").is_in(["iso_line", "syslogd_iso_line"]))
        .then(pl.col("iso"))
        .when(is_console)
        .then(pl.col("console") + pl.duration(days=days))
        .otherwise(None)
    )
    out = frame.select(ts.alias("ts"), secs.alias("secs"), days.alias("days"))
    after = {"console_secs": out["secs"][-1], "console_days": int(out["days"][-1])}
    return out["ts"], after


def _syslog_years(df: pd.DataFrame, heads: pl.DataFrame, carry: dict) -> dict:
    """``Mmm dd hh:mm:ss`` has no year: take it from a dated message, else 1900.

    In a file parsed in pieces (``carry`` from the pieces before) the year is fixed by the
    first piece that holds syslogd lines: its first dated syslogd message, else the first
    dated message so far, else 1900 (a whole parse would also look further down the file).
    Returns the state for the next piece."""
    dated_all = df["event_ts"].dropna()
    dated_year = carry.get("dated_year")
    if dated_year is None and len(dated_all):
        dated_year = int(dated_all.iloc[0].year)
    after = {"year": carry.get("year"), "dated_year": dated_year,
             "month": carry.get("month"), "bump": carry.get("bump", 0)}  # fmt: skip
    sl = (heads["layout"] == "syslogd_line").to_numpy()
    if not sl.any():
        return after
    year = carry.get("year")
    if year is None:
        own = df["event_ts"][sl].dropna()  # a TRMD message in the same syslogd file
        year = int(own.iloc[0].year) if len(own) else (dated_year or NO_YEAR)
    stamp = heads["stamp"].filter(pl.Series(sl))
    month = ("2000 " + stamp.str.slice(0, 3) + " 01").str.strptime(pl.Date, "%Y %b %d").dt.month()
    month = month.cast(pl.Int64)
    prev = month.shift(1, fill_value=carry.get("month"))
    bump = ((month - prev).fill_null(0) < 0).cast(pl.Int64).cum_sum() + after["bump"]
    text = (bump + year).cast(pl.String) + " " + stamp
    got = text.str.strptime(pl.Datetime("us"), "%Y %b %d %H:%M:%S%.f", strict=False)
    df.loc[sl, "ts"] = got.to_pandas().astype("datetime64[us]").to_numpy()
    return {**after, "year": year, "month": month[-1], "bump": int(bump[-1])}


# ---- OPERLOG via z/OSMF (JSON, or the same object written as a script literal) ----------

_JSON_KEY = re.compile(r"""^\s*["']?(jobName|message)["']?\s*:""")
_KV = r"""^\s*["']?(?P<key>[A-Za-z_]\w*)["']?\s*:\s*(?P<value>.*?)\s*,?\s*$"""


def _is_json(lines: list[str]) -> bool:
    head = lines[:400]
    keys = {m.group(1) for ln in head if (m := _JSON_KEY.match(ln))}
    return keys == {"jobName", "message"} or (
        bool(head) and '"jobName"' in head[0] and '"message"' in head[0]
    )


def _unquote(v: pl.Series) -> pl.Series:
    inner = v.str.extract(r'^"(.*)"$', 1).fill_null(v)
    return inner.str.replace_all(r'\\"', '"').str.replace_all(r"\\\\", "\\")


def _parse_json(lines: list[str], acct: Accounting) -> pd.DataFrame:
    text = "\n".join(lines)
    items = None
    if text.lstrip()[:1] in "{[":
        try:
            obj = json.loads(text)
            items = obj.get("items", []) if isinstance(obj, dict) else obj
        except ValueError:
            items = None
    if items is not None:
        acct.parsed(np.flatnonzero(acct.status == UNMARKED))
        keys = ("jobName", "system", "time", "message")
        frame = pl.from_dicts(items, schema={k: pl.String for k in keys}, strict=False)
        got = {k: frame[k] for k in keys}
        item_line = np.ones(len(items), dtype=np.int64)
        return _json_rows(item_line, got)
    s = lines_series(lines)
    todo = acct.status == UNMARKED
    kv = s.str.extract_groups(_KV).struct.unnest()
    is_kv = kv["key"].is_not_null().to_numpy() & todo
    value = kv["value"].fill_null("")
    opener = (value.is_in(["{", "["]).to_numpy() & is_kv) | (
        s.str.contains(r"[{\[]\s*$").to_numpy() & todo
    )
    closer = s.str.contains(r"^\s*[}\]][\s,;}\]]*$").to_numpy() & todo
    item_start = s.str.contains(r"^\s*\{\s*$").to_numpy() & todo
    item = np.cumsum(item_start)
    # a bare string line is the value of the key above it whose value was left empty
    bare = s.str.contains(r'^\s*".*"\s*,?\s*$').to_numpy() & todo & ~is_kv
    pending = is_kv & (value == "").to_numpy()
    kv_pos = np.flatnonzero(is_kv)
    key_arr = kv["key"].to_numpy().astype(object)
    val_arr = value.to_numpy().astype(object)
    # the value of the key line right above each bare string line, when that key has none
    bare_pos = np.flatnonzero(bare)
    at = np.searchsorted(kv_pos, bare_pos) - 1
    k = kv_pos[np.clip(at, 0, None)] if len(kv_pos) else np.zeros(0, dtype=np.int64)
    ok = (at >= 0) & pending[k] if len(kv_pos) else np.zeros(len(bare_pos), dtype=bool)
    val_arr[k[ok]] = s.gather(bare_pos[ok]).str.strip_chars().str.strip_chars_end(",").to_numpy()
    bare[bare_pos[~ok]] = False
    acct.layout(np.flatnonzero(opener | closer))
    keyed = is_kv & ~opener
    frame = pl.DataFrame(
        {
            "pos": np.flatnonzero(keyed),
            "item": item[keyed],
            "key": key_arr[keyed].astype(str),
            "value": [str(v) for v in val_arr[keyed]],
        }
    )
    msg_items = frame.filter((pl.col("key") == "message") & (pl.col("item") > 0))["item"]
    in_msg = frame["item"].is_in(msg_items.implode()).to_numpy()
    acct.parsed(frame["pos"].to_numpy()[in_msg])
    acct.layout(frame["pos"].to_numpy()[~in_msg])  # response metadata (source, totalitems)
    acct.parsed(np.flatnonzero(bare))
    starts = np.flatnonzero(item_start)
    rows = frame.filter(pl.Series(in_msg))
    wide = rows.pivot(on="key", index="item", values="value", aggregate_function="first")
    wide = wide.sort("item")
    got = {k: _unquote(wide[k]) if k in wide.columns else pl.Series([None] * len(wide),
           dtype=pl.String) for k in ("jobName", "system", "time", "message")}  # fmt: skip
    item_line = starts[wide["item"].to_numpy() - 1] + 1
    return _json_rows(item_line, got)


def _json_rows(item_line: np.ndarray, got: dict[str, pl.Series]) -> pd.DataFrame:
    msg = got["message"].fill_null("").str.replace_all(r"\\r\\n|\\r|\\n|\r\n|\r|\n", "\n")
    # each line of the message stripped, joined by one blank
    text = msg.str.replace_all(r"[ \t]*\n[ \t]*", " ")
    text = text.str.strip_chars()
    when = got["time"].fill_null("").str.replace(r"\s[A-Z]{3,4}\s(\d{4})$", " $1")
    ts = pd.to_datetime(pd.Series(when.to_list(), dtype=object), format="%a %b %d %H:%M:%S %Y",
                        errors="coerce").astype("datetime64[us]")  # fmt: skip
    df = mc.message_frame(
        item_line,
        text,
        ts=ts,
        host=pd.array(got["system"].str.strip_chars().to_list(), dtype=STR),
        job=pd.array(got["jobName"].str.strip_chars().to_list(), dtype=STR),
    )
    df["layout"] = pd.array(["zosmf_json"] * len(df), dtype=STR)
    return df


# ---- where a large log may be cut (zdiag.stream) ----------------------------------------

_CANDIDATE = re.compile(
    rb"(?m)^[ \t]*(?:[NMWOXS][CR ][0-9A-F]{7}[ \t]|[A-Z][a-z][a-z][ \t]|\d{4}-\d\d-\d\d[T \t]"
    rb"|\d\d:\d\d:\d\d|[A-Z$])"
)


@functools.cache
def _py_rules() -> dict[str, re.Pattern]:
    """The layout rules' row patterns for Python's re (compiled on first use)."""
    return {r: re.compile(row_regex(GRAMMAR, r)) for r in RULES}


_CONSOLE_CONT = re.compile(rf"^\s*\S+ {{3,}}(?!{mc.MSG_ID_RX}\b)")


class _Cut:
    def __init__(self, at: int):
        self._at = at

    def start(self) -> int:
        return self._at


class CutPoints:
    """The stream's ``chunk_marker`` for this kind: ``search(buf, pos)`` finds the first
    line at or after ``pos`` where a log may be cut, or None.

    A cut line is one the parser takes as a message's first line (its first matching layout
    rule is a head, a console line is not a continuation), so continuation and wrapped lines
    below it never belong to a message above. JES2 multi-line messages of different tasks
    interleave, so no line is sure to lie outside all of them: their records are joined by
    connect id across pieces instead (``open`` in :func:`parse_chunk`'s state). OPERLOG
    JSON is never cut."""

    def search(self, buf: bytes, pos: int):
        if _looks_json(buf):
            return None
        for m in _CANDIDATE.finditer(buf, pos):
            at = m.start()
            if buf[at - 1 : at] != b"\n" and at > 0:
                continue
            end = buf.find(b"\n", at)
            if end < 0:  # the last line may be incomplete
                return None
            line = buf[at:end].rstrip(b"\r").decode("latin-1")
            if _is_head(line):
                return _Cut(at)
        return None


_JSON_KEY_B = re.compile(rb"""(?m)^[ \t]*["']?(jobName|message)["']?[ \t]*:""")


def _looks_json(buf: bytes) -> bool:
    head = buf[:65536]
    keys = {m.group(1) for m in _JSON_KEY_B.finditer(head)}
    return head.lstrip()[:1] in (b"{", b"[") or keys == {b"jobName", b"message"}


def _is_head(line: str) -> bool:
    for rule, rx in _py_rules().items():
        if rx.match(line):
            if rule == "jes2_cont":
                return False
            return not (rule == "console_line" and _CONSOLE_CONT.match(line))
    return False


# ---- detection ---------------------------------------------------------------------------

_DETECT = {
    "jes2": re.compile(r"^ ?(?:[NMWOXS][CR ][0-9A-F]{7} \S+ +\d{5}(?:\d\d)? \d\d:\d\d:\d\d|[DLE] {20,}\d+ [0-9A-F]{8})"),
    "syslogd": re.compile(r"^(?:[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\S+) \S+ [^\s:]+:"),
    "console": re.compile(r"^\d\d:\d\d:\d\d(?:\.\d+)? +\S"),
    "bare": re.compile(rf"^\s*{mc.MSG_ID_RX}(?:\s|$)"),
}  # fmt: skip
_TCPIP_ID = re.compile(r"\b(?:EZ[ABDYZ]|IST|IEE|EZM)\d{4}[A-Z]\b")
_ANY_ID = re.compile(mc.MSG_ID_ANYWHERE)
_NETSTAT_TITLE = re.compile(r"MVS TCP/IP NETSTAT|NETSTAT CS V\d|^EZZ2350I", re.M)


def detect(head: list[str]) -> float:
    body = [ln for ln in head if ln.strip()]
    if not body:
        return 0.0
    if _is_json(head) and any(_ANY_ID.search(ln) for ln in head):
        return 0.85
    n = len(body)
    frac = {k: sum(1 for ln in body if rx.match(ln)) / n for k, rx in _DETECT.items()}
    text = "\n".join(body)
    ids = sum(1 for ln in body if _ANY_ID.search(ln)) / n
    if frac["jes2"] >= 0.5:
        return 0.9
    if frac["syslogd"] >= 0.5 and ids > 0:
        return 0.85
    if frac["console"] >= 0.6 and ids > 0:
        return 0.8
    if _NETSTAT_TITLE.search(text) or "trmdstat" in text:
        return 0.1  # netstat reports print EZZ ids on every line; trmdstat is its own kind
    if frac["bare"] >= 0.3 and _DETECT["bare"].match(body[0]):
        return 0.6
    if sum(frac.values()) >= 0.6 and ids >= 0.3:  # extracts of several logs put together
        return 0.55
    if sum(1 for ln in body if _TCPIP_ID.search(ln)) / n >= 0.5:
        return 0.5
    return 0.0


register(
    Kind(
        name="syslog.zos",
        description="z/OS message logs: JES2 SYSLOG/OPERLOG, syslogd, console captures, job "
        "logs and z/OSMF OPERLOG JSON; message ids split and known templates typed",
        tables=("messages",),
        detect=detect,
        parse=parse,
        grammar=GRAMMAR,
        samples=(
            "messages/jes2_syslog_ipl_adcd_z111_hercules_mixed_records.txt",
            "messages/seed002_ezz8672i_example.txt",
        ),
        extra={
            "lines": "series",
            # large logs are cut before a message's first line, never inside a multi-line
            # message, and parsed piece by piece (memory stays bounded); see zdiag.stream
            "chunk_marker": CutPoints(),
            "parse_chunk": parse_chunk,
        },
        path="line layouts: grammar row patterns, polars (vectorised); multi-line joins: "
        "as-of joins; message fields: templates (grammars/messages/) per message id, polars",
    )
)
