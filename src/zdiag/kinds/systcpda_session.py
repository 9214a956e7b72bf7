"""Kind ``systcpda.session``: IPCS CTRACE COMP(SYSTCPDA) OPTIONS((SESSION)) reports.

Tables:
- ``sessions``: one row per connection summary block (addresses, ports, application,
  client/server role, link speed, first/last timestamp, and per side the packet count of
  every flag class: ``packets_local`` … ``dropped_remote``).
- ``packets``: one row per line of a SESSION DETAIL per-packet table
  (``TcpHdr IO F Seq Ack RcvWnd Data Delta Time [TimeStamp]``), tied to the connection of
  the summary block above it. ``ibm_flag`` is the formatter's letter, kept as printed.

Grammar: grammars/systcpda_session.lark. Path: packet rows by the row pattern compiled from
the grammar's ``packet_row`` rule (polars, vectorised); summary lines by the grammar's other
line rules over the remaining lines only.

Timestamps: the packet table prints only hh:mm:ss.ffffff. The date comes from the
connection's ``First timestamp`` or the last ``**** yyyy/mm/dd`` line above; when the report
prints no date at all, 1900-01-01 stands in (as Python's strptime does) so that time
arithmetic still works, and a day is added when the clock goes back by more than 12 hours.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import polars as pl

from zdiag.grammar import MATCH_GROUP, extract, row_regex
from zdiag.kinds import systcpda_common as common
from zdiag.kinds.base import UNMARKED, Accounting, Kind
from zdiag.kinds.registry import register
from zdiag.tables import STR

GRAMMAR = "systcpda_session"
NO_DATE = "1900/01/01"

#: flag letter of the summary block and the detail F column → class name (FORMATS.md §4)
FLAG_LETTERS = {
    "x": "untraced", ".": "inorder", "a": "ack", "+": "data_ack", "u": "dupack",
    "w": "winupdate", "z": "zerowin", "p": "probe", "k": "keepalive", "r": "retrans",
    "o": "ooo", "d": "delayed_ack", "f": "fragment", "!": "dropped",
}  # fmt: skip

LINE_RULES = ("detail_heading", "elision_line", "address_line", "count_line", "stamp_line",
              "pair_line", "section_line")  # fmt: skip


def canonical_ip(text: str | None) -> str | None:
    """Canonical form of an IP address; text that is not one (masked ``x.x.x.x``) as printed."""
    if text is None:
        return None
    try:
        return str(ipaddress.ip_address(text.split("%")[0]))
    except ValueError:
        return text


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text not in (None, "") else None
    except ValueError:
        return None


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


@dataclass
class _Block:
    line: int
    fields: dict = field(default_factory=dict)

    def has(self, key: str) -> bool:
        return key in self.fields


def _session_rows(events: list[tuple[int, str, dict]], acct: Accounting) -> list[_Block]:
    """Fold the summary lines, in file order, into one block per connection."""
    blocks: list[_Block] = []
    cur: _Block | None = None

    def field_set(key: str, value, i: int) -> None:
        nonlocal cur
        if cur is None or cur.has(key):
            cur = _Block(i)
            blocks.append(cur)
        cur.fields[key] = value

    for i, rule, g in events:
        if rule == "address_line":
            key = "local_ip" if g["side"] == "Local" else "remote_ip"
            field_set(key, canonical_ip(g["address"]), i)
            acct.parsed(i)
        elif rule == "count_line":
            cls = FLAG_LETTERS.get(g["flag_char"])
            if cls is None:
                acct.unrecognised(i, f"unknown flag class ({g['flag_char']})")
                continue
            field_set(f"{cls}_local", _int(g["count_local"]), i)
            cur.fields[f"{cls}_remote"] = _int(g["count_remote"])
            acct.parsed(i)
        elif rule == "stamp_line":
            label = g["label"].lower()
            key = {"first timestamp": "first_ts", "last timestamp": "last_ts"}.get(label)
            if key is None:
                acct.unrecognised(i, f"session field not known to zdiag: {g['label']!r}")
                continue
            field_set(key, f"{g['date']} {g['clock']}", i)
            acct.parsed(i)
        elif rule == "pair_line":
            label = g["label"].strip().lower()
            loc, rem = g["value_local"], g["value_remote"]
            if label == "host":
                acct.layout(i)  # the "Local, Remote" column heading of the block
                continue
            if label == "packets":
                field_set("packets_local", _int(loc), i)
                cur.fields["packets_remote"] = _int(rem)
            elif label == "port":
                field_set("local_port", _int(loc), i)
                cur.fields["remote_port"] = _int(rem)
            elif label == "client or server":
                field_set("role_local", loc, i)
                cur.fields["role_remote"] = rem
            elif label == "application":
                field_set("application", loc, i)
                cur.fields["application_remote"] = rem
            elif label.startswith("link speed"):
                field_set("link_speed_local", _float(loc), i)
                cur.fields["link_speed_remote"] = _float(rem)
                cur.fields["link_speed_unit"] = g["unit"]
            else:
                acct.unrecognised(i, f"session field not known to zdiag: {g['label']!r}")
                continue
            acct.parsed(i)
        elif rule == "section_line":
            acct.layout(i)
    return blocks


def _line_events(s: pl.Series, todo: np.ndarray, acct: Accounting) -> list[tuple[int, str, dict]]:
    """Match the non-packet line rules (in priority order) over the remaining lines."""
    events: list[tuple[int, str, dict]] = []
    remaining = todo
    for rule in LINE_RULES:
        if not len(remaining):
            break
        got = extract(s.gather(remaining), row_regex(GRAMMAR, rule))
        hit = got[MATCH_GROUP].is_not_null().to_numpy()
        if not hit.any():
            continue
        idx = remaining[hit]
        if rule in ("detail_heading", "elision_line"):
            acct.layout(idx)
        else:
            cols = [c for c in got.columns if c != MATCH_GROUP]
            rows = got.filter(pl.Series(hit)).select(cols).to_dicts()
            events.extend((int(i), rule, g) for i, g in zip(idx, rows, strict=True))
        remaining = remaining[~hit]
    events.sort(key=lambda e: e[0])
    return events


def _dates_for(n_lines: int, rows: np.ndarray, marks: dict[int, str]) -> np.ndarray:
    """For each packet row index, the most recent date mark above it (or NO_DATE)."""
    if not marks:
        return np.full(len(rows), NO_DATE, dtype=object)
    pos = np.array(sorted(marks), dtype=np.int64)
    vals = np.array([marks[p] for p in pos], dtype=object)
    k = np.searchsorted(pos, rows, side="right") - 1
    out = np.where(k >= 0, vals[np.clip(k, 0, None)], NO_DATE)
    return out.astype(object)


def parse(lines: list[str], acct: Accounting) -> dict[str, pd.DataFrame]:
    s = common.series(lines)
    pk = extract(s, row_regex(GRAMMAR, "packet_row"))
    is_pkt = pk[MATCH_GROUP].is_not_null().to_numpy() & (acct.status == UNMARKED)
    pkt_idx = np.flatnonzero(is_pkt)
    acct.parsed(pkt_idx)
    date_marks = common.mark_layout(lines, s, acct)
    events = _line_events(s, np.flatnonzero(acct.status == UNMARKED), acct)
    heading_idx = np.flatnonzero(
        extract(s, row_regex(GRAMMAR, "detail_heading"))[MATCH_GROUP].is_not_null().to_numpy()
    )
    blocks = _session_rows(events, acct)

    # ---- sessions --------------------------------------------------------------------
    sess = pd.DataFrame([{"line": b.line + 1, **b.fields} for b in blocks])
    if len(sess):
        for col in ("first_ts", "last_ts"):
            if col in sess:
                sess[col] = pd.to_datetime(sess[col], format="%Y/%m/%d %H:%M:%S.%f",
                                           errors="coerce")  # fmt: skip
        sess["conn"] = _conn_ids(sess)

    # ---- packets ---------------------------------------------------------------------
    p = pk.filter(pl.Series(is_pkt)).drop(MATCH_GROUP)
    packets = _packets(p, pkt_idx, heading_idx, blocks, sess, date_marks, len(lines))
    out = {"packets": packets}
    if len(sess):
        out["sessions"] = sess
    return out


def _conn_ids(sess: pd.DataFrame) -> list[str]:
    ids = []
    for k, r in enumerate(sess.to_dict("records"), start=1):
        parts = [r.get("local_ip"), r.get("local_port"), r.get("remote_ip"), r.get("remote_port")]
        if all(v is not None and not (isinstance(v, float) and np.isnan(v)) for v in parts):
            ids.append(f"{parts[0]}:{int(parts[1])}-{parts[2]}:{int(parts[3])}")
        else:
            ids.append(f"session{k}@{r['line']}")
    return ids


def _packets(p: pl.DataFrame, pkt_idx, heading_idx, blocks, sess, date_marks, n_lines):
    n = len(p)
    if n == 0:
        return pd.DataFrame({"line": pd.array([], dtype="Int64")})
    nr = p["nr"].cast(pl.Int64).to_numpy()
    # a new table starts after each heading, and wherever the packet number drops
    # (a table without a heading right after another one)
    heading_before = np.searchsorted(heading_idx, pkt_idx, side="right")
    new_table = np.r_[True, (np.diff(heading_before) > 0) | (np.diff(nr) < 0)]
    table_no = np.cumsum(new_table)
    block_starts = np.array([b.line for b in blocks], dtype=np.int64)
    blk = (
        np.searchsorted(block_starts, pkt_idx, side="right") - 1 if len(blocks) else np.full(n, -1)
    )

    conn = np.array([f"table{t}" for t in table_no], dtype=object)
    loc_ip = np.full(n, None, dtype=object)
    rem_ip = np.full(n, None, dtype=object)
    loc_port = np.full(n, None, dtype=object)
    rem_port = np.full(n, None, dtype=object)
    marks = dict(date_marks)
    if len(blocks):
        has = blk >= 0
        srec = sess.to_dict("records")
        for j in np.unique(blk[has]):
            r = srec[j]
            sel = blk == j
            conn[sel] = r["conn"]
            loc_ip[sel], rem_ip[sel] = r.get("local_ip"), r.get("remote_ip")
            loc_port[sel], rem_port[sel] = r.get("local_port"), r.get("remote_port")
            first = r.get("first_ts")
            if first is not None and not pd.isna(first):
                marks[blocks[j].line] = first.strftime("%Y/%m/%d")

    io = p["io"].to_numpy()
    inbound = io == "I"
    flags = p["tcp_hdr" if "tcp_hdr" in p.columns else "tcphdr"].fill_null("")
    time = p["time"]
    date = _dates_for(n_lines, pkt_idx, marks)
    ts = _timestamps(date, time, table_no)
    df = pd.DataFrame(
        {
            "line": pd.array(pkt_idx + 1, dtype="Int64"),
            "conn": pd.array(conn, dtype=STR),
            "nr": pd.array(nr, dtype="Int64"),
            "ts": ts,
            "time": pd.array(time.to_list(), dtype=STR),
            "delta_s": pd.array(p["delta"].cast(pl.Float64).to_numpy(), dtype="Float64"),
            "direction": pd.array(np.where(inbound, "in", "out"), dtype=STR),
            "protocol": pd.array(["TCP"] * n, dtype=STR),
        }
    )
    for letter, name in (("S", "syn"), ("A", "ack"), ("P", "psh"), ("F", "fin"), ("R", "rst"),
                         ("U", "urg")):  # fmt: skip
        df[name] = pd.array(flags.str.contains(letter, literal=True).to_numpy(), dtype="boolean")
    df["tcp_flags"] = pd.array(flags.str.replace_all(" ", "").to_list(), dtype=STR)
    for col in ("seq", "ack_num", "window", "data_len"):
        df[col] = pd.array(p[col].cast(pl.Int64).to_numpy(), dtype="Int64")
    lp = pd.array(loc_port, dtype="Int64")
    rp = pd.array(rem_port, dtype="Int64")
    li = pd.array(loc_ip, dtype=STR)
    ri = pd.array(rem_ip, dtype=STR)
    df["src_ip"] = pd.array(np.where(inbound, rem_ip, loc_ip), dtype=STR)
    df["src_port"] = pd.array(np.where(inbound, rem_port, loc_port), dtype="Int64")
    df["dst_ip"] = pd.array(np.where(inbound, loc_ip, rem_ip), dtype=STR)
    df["dst_port"] = pd.array(np.where(inbound, loc_port, rem_port), dtype="Int64")
    df["local_ip"], df["local_port"], df["remote_ip"], df["remote_port"] = li, lp, ri, rp
    df["ibm_flag"] = pd.array(p["ibm_flag"].to_list(), dtype=STR)
    return df


def _timestamps(date: np.ndarray, time: pl.Series, table_no: np.ndarray) -> pd.Series:
    """Join date and clock; add a day when the clock goes back by more than 12 hours."""
    t = pd.Series(time.to_list(), dtype=object)
    has = t.notna().to_numpy()
    text = pd.Series(date, dtype=object) + " " + t.fillna("00:00:00.0")
    ts = pd.to_datetime(text, format="%Y/%m/%d %H:%M:%S.%f", errors="coerce")
    secs = (ts - ts.dt.normalize()).dt.total_seconds().to_numpy()
    back = np.r_[False, np.diff(secs) < -43200] & np.r_[False, np.diff(table_no) == 0]
    days = pd.Series(back.astype(int)).groupby(table_no).cumsum().to_numpy()
    ts = ts + pd.to_timedelta(days, unit="D")
    ts[~has] = pd.NaT
    return ts.astype("datetime64[us]")


def detect(head: list[str]) -> float:
    text = "\n".join(head)
    score = 0.0
    if "TcpHdr" in text and "RcvWnd" in text:
        score = 0.9
    if "Packets:" in text and ("Untraced Packets" in text or "In-order data" in text):
        score = max(score, 0.9)
    if "Local Ip Address:" in text or "Client or Server:" in text:
        score = max(score, 0.85)
    return score


register(
    Kind(
        name="systcpda.session",
        description="IPCS CTRACE COMP(SYSTCPDA) OPTIONS((SESSION)): connection summaries and "
        "SESSION DETAIL per-packet tables",
        tables=("sessions", "packets"),
        detect=detect,
        parse=parse,
        grammar=GRAMMAR,
        samples=(
            "systcpda/seed004_session_detail_reset_ex1.txt",
            "systcpda/seed004_session_summary_packets.txt",
        ),
        path="packet rows: grammar row pattern, polars (vectorised); summary lines: grammar "
        "line rules over the remaining lines",
    )
)
