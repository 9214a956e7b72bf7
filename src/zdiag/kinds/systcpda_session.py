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

import os
import re
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import numpy as np
import pandas as pd
import polars as pl

from zdiag.decode import lines_series
from zdiag.grammar import (
    MATCH_GROUP,
    CutPoints,
    by_distinct,
    extract,
    line_pattern,
    matches,
    row_regex,
)
from zdiag.kinds import systcpda_common as common
from zdiag.kinds.addresses import canonical_ip
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


_IPV4_CANONICAL = re.compile(
    r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
)


_INT64 = range(-(2**63), 2**63)


def _int(text: str | None) -> int | None:
    """Python's int() of a summary value; None when it is none, or too large for 64 bits."""
    try:
        value = int(text) if text not in (None, "") else None
    except ValueError:
        return None
    return value if value is None or value in _INT64 else None


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


_PAIR_KEYS = {"packets": ("packets_local", "packets_remote", _int),
              "port": ("local_port", "remote_port", _int),
              "client or server": ("role_local", "role_remote", None),
              "application": ("application", "application_remote", None)}  # fmt: skip
_STAMP_KEYS = {"first timestamp": "first_ts", "last timestamp": "last_ts"}
#: line rules whose lines carry no field (layout only)
_LAYOUT_RULES = ("detail_heading", "elision_line", "section_line")


#: lines per slice when a pattern runs on several cores
_SLICE = 20_000
_POOL: ThreadPoolExecutor | None = None


def _sliced(s: pl.Series, fn) -> list:
    """``fn`` over ``s`` in slices on the machine's cores (polars runs one regex over one
    column on a single core; it releases the GIL, so threads scale); one slice when short."""
    global _POOL
    workers = min(os.cpu_count() or 1, 4)
    if workers < 2 or len(s) < 2 * _SLICE:
        return [fn(s)]
    if _POOL is None:
        _POOL = ThreadPoolExecutor(workers, thread_name_prefix="zdiag-extract")
    step = -(-len(s) // workers)
    return list(_POOL.map(fn, [s.slice(o, step) for o in range(0, len(s), step)]))


def _extract(s: pl.Series, pattern: str) -> pl.DataFrame:
    """``grammar.extract`` over a long column, on all cores."""
    return pl.concat(_sliced(s, lambda part: extract(part, pattern)))


def _matches(s: pl.Series, pattern: str) -> np.ndarray:
    """Which lines a row pattern matches (no groups captured: the regex engine's DFA)."""
    parts = _sliced(s, lambda part: matches(part, pattern))
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def _accept(acct: Accounting, idx: np.ndarray, mapped: pl.Series, raw: pl.Series,
            reason: str) -> np.ndarray:  # fmt: skip
    """Lines whose ``mapped`` value is known are parsed; the others are unrecognised with
    ``reason`` naming their ``raw`` text. Returns the mask of parsed lines."""
    bad = mapped.is_null().to_numpy()
    for i, text in zip(idx[bad].tolist(), raw.filter(mapped.is_null()).to_list(), strict=True):
        acct.unrecognised(i, reason.format(text))
    acct.parsed(idx[~bad])
    return ~bad


def _numbers(v: pl.Series, dtype, conv) -> pl.Series:
    """Text to numbers as Python's ``int``/``float`` read them: the fast cast, and ``conv``
    on every value where the fast cast disagrees (e.g. ``+5``, ``1_000``)."""
    fast = v.cast(dtype, strict=False)
    if (fast.is_null() & v.is_not_null()).any():
        fast = pl.Series([conv(x) for x in v.to_list()], dtype=dtype)
    return fast


class _Fields:
    """The summary fields of a piece as they are read: per field, its lines, its place on
    the line (0 = the key that opens a new block when the current block has it already)
    and its values (typed: String, Int64 or Float64)."""

    def __init__(self) -> None:
        self.items: list[tuple[str, int, np.ndarray, pl.Series]] = []

    def add(self, key: str, place: int, idx: np.ndarray, values: pl.Series) -> None:
        if len(idx):
            self.items.append((key, place, idx, values))

    def by_key(self, keys: pl.Series, place: int, idx: np.ndarray, values: pl.Series,
               suffix: str = "") -> None:  # fmt: skip
        """Fields whose key differs from line to line (``keys``, one per line)."""
        codes = keys.to_numpy()
        for key in keys.unique(maintain_order=True).to_list():
            sel = codes == key
            self.add(key + suffix, place, idx[sel], values.filter(pl.Series(sel)))


def _rule_fields(rule: str, idx: np.ndarray, got: pl.DataFrame, acct: Accounting,
                 fields: _Fields) -> None:  # fmt: skip
    """The fields of one line rule's matches; marks their lines (parsed, layout, or not
    recognised with a reason)."""
    col = got.get_column
    if rule == "address_line":
        acct.parsed(idx)
        addr = col("address")
        canon = addr.str.contains(_IPV4_CANONICAL.pattern.join(("^", "$")))
        if not canon.all():  # only the others go through ipaddress
            vals = [a if c else canonical_ip(a)
                    for a, c in zip(addr.to_list(), canon.to_list(), strict=True)]  # fmt: skip
            addr = pl.Series("s", vals, dtype=pl.String)
        side = (col("side") == "Local").to_numpy()
        fields.add("local_ip", 0, idx[side], addr.filter(pl.Series(side)))
        fields.add("remote_ip", 0, idx[~side], addr.filter(pl.Series(~side)))
        return
    if rule == "count_line":
        cls = col("flag_char").replace_strict(FLAG_LETTERS, default=None, return_dtype=pl.String)
        ok = _accept(acct, idx, cls, col("flag_char"), "unknown flag class ({})")
        keep = pl.Series(ok)
        cls = cls.filter(keep)
        for place, side in ((0, "local"), (1, "remote")):
            counts = col(f"count_{side}").filter(keep).cast(pl.Int64, strict=False)
            fields.by_key(cls, place, idx[ok], counts, "_" + side)
        return
    if rule == "stamp_line":
        key = col("label").str.to_lowercase().replace_strict(_STAMP_KEYS, default=None)
        ok = _accept(acct, idx, key, col("label"), "session field not known to zdiag: {!r}")
        keep = pl.Series(ok)
        stamp = (col("date") + " " + col("clock")).filter(keep)
        fields.by_key(key.filter(keep), 0, idx[ok], stamp)
        return
    # pair_line: ``Label: local, remote``
    raw = col("label")
    label = raw.str.strip_chars().str.to_lowercase()
    host = (label == "host").to_numpy()
    acct.layout(idx[host])  # the "Local, Remote" column heading of the block
    speed = label.str.starts_with("link speed").to_numpy()
    kind = label.replace_strict({k: k for k in _PAIR_KEYS}, default=None).to_numpy()
    known = np.array([k is not None for k in kind], dtype=bool) & ~host
    bad = ~(host | speed | known)
    for i, text in zip(idx[bad].tolist(), raw.filter(pl.Series(bad)).to_list(), strict=True):
        acct.unrecognised(i, f"session field not known to zdiag: {text!r}")
    acct.parsed(idx[known | speed])
    for name, (k1, k2, conv) in _PAIR_KEYS.items():
        sel = kind == name
        if not sel.any():
            continue
        keep = pl.Series(sel)
        for place, key, side in ((0, k1, "value_local"), (1, k2, "value_remote")):
            v = col(side).filter(keep)
            fields.add(key, place, idx[sel], v if conv is None else _numbers(v, pl.Int64, conv))
    if speed.any():
        keep = pl.Series(speed)
        for place, side in ((0, "local"), (1, "remote")):
            v = _numbers(col(f"value_{side}").filter(keep), pl.Float64, _float)
            fields.add(f"link_speed_{side}", place, idx[speed], v)
        fields.add("link_speed_unit", 2, idx[speed], col("unit").filter(keep))


def _summary_fields(s: pl.Series, todo: np.ndarray, acct: Accounting) -> _Fields:
    """Match the non-packet line rules (in priority order) over the remaining lines: each
    rule's match test first (a DFA, no groups), its groups only on the lines it matched."""
    fields = _Fields()
    remaining = todo
    for rule in LINE_RULES:
        if not len(remaining):
            break
        sub = s.gather(remaining)
        pattern = row_regex(GRAMMAR, rule)
        hit = _matches(sub, pattern)
        if not hit.any():
            continue
        idx = remaining[hit]
        if rule in _LAYOUT_RULES:
            acct.layout(idx)
        else:
            # summary lines repeat (zero counts, roles, speeds): groups once per text
            got = by_distinct(sub.filter(pl.Series(hit)), lambda u, p=pattern: _extract(u, p))
            _rule_fields(rule, idx, got, acct, fields)
        remaining = remaining[~hit]
    return fields


def _sessions(
    fields: _Fields, pkt_idx: np.ndarray | None = None
) -> tuple[pl.DataFrame, np.ndarray]:
    """Fold the summary fields, in file order, into one row per connection block.

    A block starts at the first field, at every field whose key the current block has
    already (the next connection's summary), and at the first field after packet rows (a
    block's packet table is its last part). Returns the blocks (one column per key, in the
    order first seen) and each block's first line index.
    """
    prim = [(key, idx) for key, place, idx, _ in fields.items if place == 0]
    if not prim:
        return pl.DataFrame(), np.zeros(0, dtype=np.int64)
    keys = list(dict.fromkeys(key for key, _ in prim))
    pidx = np.concatenate([idx for _, idx in prim])
    pcode = np.concatenate([np.full(len(idx), keys.index(key)) for key, idx in prim])
    order = np.argsort(pidx, kind="stable")
    pidx, codes = pidx[order], pcode[order].tolist()
    if pkt_idx is not None and len(pkt_idx):  # packet rows between a field and the one before
        below = np.r_[False, np.diff(np.searchsorted(pkt_idx, pidx)) > 0].tolist()
    else:
        below = [False] * len(codes)
    starts: list[int] = []
    seen = 0
    for e, c in enumerate(codes):
        bit = 1 << c
        if e == 0 or seen & bit or below[e]:
            starts.append(e)
            seen = bit
        else:
            seen |= bit
    is_start = np.zeros(len(codes), dtype=np.int64)
    is_start[starts] = 1
    blk = np.cumsum(is_start) - 1
    nb = len(starts)
    # every field of a line belongs to the block of that line's opening field; each key
    # has one value a block (a repeated opening key starts the next block)
    cols: dict[str, pl.Series] = {}
    first: dict[str, tuple[int, int]] = {}
    for key, place, idx, values in fields.items:
        at = pl.Series(blk[np.searchsorted(pidx, idx)], dtype=pl.UInt32)
        base = cols.get(key)
        if base is None:
            base = pl.Series(key, [None] * nb, dtype=values.dtype)
        cols[key] = base.scatter(at, values)
        first[key] = min(first.get(key, (idx[0], place)), (int(idx.min()), place))
    names = sorted(cols, key=first.__getitem__)
    return pl.DataFrame([cols[k] for k in names]), pidx[starts]


def parse(lines: list[str], acct: Accounting) -> dict[str, pd.DataFrame]:
    return parse_chunk(lines, acct, {})[0]


def prepare_chunk(lines, acct: Accounting) -> dict:
    """The part of parsing a piece that needs nothing from the pieces before it (the line
    patterns, the accounting, the summary blocks), so that :mod:`zdiag.stream` can run it
    for the next piece while this one is finished by :func:`parse_chunk`."""
    s = lines_series(lines)
    pk = _extract(s, row_regex(GRAMMAR, "packet_row"))
    matched = pk[MATCH_GROUP].is_not_null().to_numpy()
    is_pkt = matched & (acct.status == UNMARKED)
    pkt_idx = np.flatnonzero(is_pkt)
    acct.parsed(pkt_idx)
    date_marks = common.mark_layout(lines, s, acct)
    fields = _summary_fields(s, np.flatnonzero(acct.status == UNMARKED), acct)
    # a heading never matches the packet pattern: look for headings among the other lines
    others = np.flatnonzero(~matched)
    heading_idx = others[_matches(s.gather(others), row_regex(GRAMMAR, "detail_heading"))]
    sess_pl, block_starts = _sessions(fields, pkt_idx)
    return {
        "rows": pk.filter(pl.Series(is_pkt)).drop(MATCH_GROUP),
        "pkt_idx": pkt_idx,
        "heading_idx": heading_idx,
        "date_marks": date_marks,
        "sessions": sess_pl,
        "block_starts": block_starts,
    }


def parse_chunk(lines, acct: Accounting, state: dict) -> tuple[dict[str, pd.DataFrame], dict]:
    """Parse one piece of a report that the pipeline cut just before a summary block, or
    inside a packet table that runs on for more than a piece (:data:`CUT_POINTS`).

    ``state`` carries what a piece needs from the ones before it: ``line0`` (its first line's
    0-based number in the file), ``blocks`` and ``tables`` (connection blocks and packet
    tables seen so far, which number the ``session<k>@<line>`` and ``table<k>`` ids) and
    ``date`` (the last date mark, for packets whose block prints no First timestamp) and
    ``carry`` (the last connection and table, for packets above the piece's first block).
    Returns the tables (lines numbered within the piece) and the state for the next piece.
    With ``state["polars"]`` true, ``packets`` is returned as a polars frame (same columns
    and values; :func:`to_pandas` gives the pandas one). ``state["prepared"]`` is this
    piece's :func:`prepare_chunk`, when the caller ran it already.
    """
    prep = state.get("prepared") or prepare_chunk(lines, acct)
    sess_pl, block_starts = prep["sessions"], prep["block_starts"]

    # ---- sessions --------------------------------------------------------------------
    sess = _session_rows(sess_pl, block_starts, state.get("blocks", 0), state.get("line0", 0))

    # ---- packets ---------------------------------------------------------------------
    marks = _mark_days(prep["date_marks"])
    if state.get("date") is not None:
        marks[-1] = state["date"]
    carry = state.get("carry") or {}
    packets, n_tables, last = _packets(prep["rows"], prep["pkt_idx"], prep["heading_idx"],
                                       block_starts, sess, marks, state.get("tables", 0), carry)  # fmt: skip
    if len(block_starts) and "first_ts" in sess.columns:  # the last block's day goes on too
        day = sess.get_column("first_ts").to_numpy()[-1].astype("datetime64[D]")
        if not np.isnat(day):
            marks.setdefault(int(block_starts[-1]), day)
    if not state.get("polars"):  # zdiag.stream may take the polars frame (parquet via Arrow)
        packets = to_pandas(packets)
    out = {"packets": packets}
    if sess.height:  # zdiag.stream may take the polars frames (parquet via Arrow)
        out["sessions"] = sess if state.get("polars") else to_pandas(sess)
    after = {
        "blocks": state.get("blocks", 0) + len(block_starts),
        "tables": state.get("tables", 0) + n_tables,
        "date": marks[max(marks)] if marks else None,
        # a piece may end inside a packet table (see CUT_POINTS): its connection and
        # table go on in the next piece
        "carry": _carry(sess, block_starts, prep["heading_idx"], prep["pkt_idx"], carry, last),
    }
    return out, after


def _session_rows(fields: pl.DataFrame, block_starts: np.ndarray, k0: int = 0,
                  line0: int = 0) -> pl.DataFrame:  # fmt: skip
    """The sessions table (polars): a row per block, its first line, the fields it prints
    (in the order first seen), the First/Last timestamps as times, and ``conn``."""
    if not fields.width:
        return pl.DataFrame()
    sess = fields.with_columns(line=pl.Series(block_starts + 1, dtype=pl.Int64))
    sess = sess.select("line", pl.exclude("line")).with_columns(
        pl.col(c).str.strptime(pl.Datetime("us"), "%Y/%m/%d %H:%M:%S%.f", strict=False)
        for c in ("first_ts", "last_ts")
        if c in sess.columns
    )
    return sess.with_columns(_conn_ids(sess, k0, line0))


def _block_col(sess: pl.DataFrame, col: str, dtype) -> pl.Series:
    """One sessions column (nulls where the block does not say)."""
    if col not in sess.columns:
        return pl.Series(col, [None] * sess.height, dtype=dtype)
    return sess.get_column(col).cast(dtype, strict=False)


def _conn_ids(sess: pl.DataFrame, k0: int = 0, line0: int = 0) -> pl.Series:
    """``local_ip:port-remote_ip:port``, or ``session<k>@<line>`` when the block lacks one."""
    n = sess.height
    df = pl.DataFrame(
        [
            _block_col(sess, "local_ip", pl.String).alias("li"),
            _block_col(sess, "local_port", pl.Int64).alias("lp"),
            _block_col(sess, "remote_ip", pl.String).alias("ri"),
            _block_col(sess, "remote_port", pl.Int64).alias("rp"),
            _block_col(sess, "line", pl.Int64).alias("line"),
            pl.Series("k", np.arange(k0 + 1, k0 + 1 + n, dtype=np.int64)),
        ]
    )
    whole = pl.all_horizontal(pl.col(c).is_not_null() for c in ("li", "lp", "ri", "rp"))
    return df.select(
        pl.when(whole)
        .then(pl.format("{}:{}-{}:{}", "li", "lp", "ri", "rp"))
        .otherwise(pl.format("session{}@{}", "k", pl.col("line") + line0))
        .alias("conn")
    ).to_series()


def _block_column(sess: pl.DataFrame, col: str, dtype, held: dict) -> pl.Series:
    """One value per block and one more for the packets above every block: the carried
    block's (``held``), else null."""
    return _block_col(sess, col, dtype).extend_constant(held.get(col), 1)


def _packets(p: pl.DataFrame, pkt_idx, heading_idx, block_starts, sess, marks: dict, t0: int = 0,
             carry: dict | None = None):  # fmt: skip
    """The packets table, built column-wise in polars (a polars frame).

    ``marks`` ({line index: day}) gains the First timestamp day of every block that has
    packets. ``carry`` (:func:`_carry` of the piece before, when the report was cut inside
    a packet table): the packets above the piece's first block belong to its block, and the
    first of them continue its table unless a heading or a drop in the packet number says
    otherwise. Returns the table, the number of packet tables it starts, and the last
    packet's number, seconds of day and days added (for :func:`_carry`; None without
    packets).
    """
    n = len(p)
    if n == 0:
        return pl.DataFrame({"line": pl.Series([], dtype=pl.Int64)}), 0, None
    carry = carry or {}
    nums = p.select(  # one select: polars casts the columns in parallel
        pl.col("nr").cast(pl.Int64, strict=False),
        pl.col("delta").cast(pl.Float64, strict=False).alias("delta_s"),
        *(pl.col(c).cast(pl.Int64, strict=False) for c in ("seq", "ack_num", "window", "data_len")),
    )
    nr_np = nums.get_column("nr").fill_null(0).to_numpy()
    # a new table starts after each heading, and wherever the packet number drops
    # (a table without a heading right after another one)
    heading_before = np.searchsorted(heading_idx, pkt_idx, side="right")
    nb = len(block_starts)
    # the first packet goes on with the table the piece before ended in, if it had one: no
    # heading or block above it since, and its number does not drop
    goes_on = (
        carry.get("nr") is not None
        and not carry.get("fresh")
        and heading_before[0] == 0
        and not (nb and block_starts[0] < pkt_idx[0])
        and nr_np[0] >= carry["nr"]
    )
    new_table = np.r_[not goes_on, (np.diff(heading_before) > 0) | (np.diff(nr_np) < 0)]
    table_no = np.cumsum(new_table)  # 0: the carried table
    blk = np.searchsorted(block_starts, pkt_idx, side="right") - 1 if nb else np.full(n, -1)

    if nb and "first_ts" in sess.columns:  # a block's own date wins over the ones above it
        days = sess.get_column("first_ts").to_numpy().astype("datetime64[D]")
        used = np.unique(blk[blk >= 0])
        used = used[~np.isnat(days[used])]
        marks.update(zip(block_starts[used].tolist(), days[used].tolist(), strict=True))
    ts, clock = _timestamps(pkt_idx, marks, p["time"], table_no,
                            (carry.get("secs"), carry.get("days", 0)) if goes_on else None)  # fmt: skip
    inbound = (p["io"] == "I").fill_null(False).to_numpy()
    # the connection's columns: one gather from the blocks stacked twice (outbound rows, then
    # inbound rows with source and destination swapped), plus a null row each for packets
    # above every block
    # (the row after the blocks: the carried block, or nulls)
    held = carry.get("block") or {}
    conn_b = _block_column(sess, "conn", pl.String, held)
    lip, rip = (
        _block_column(sess, "local_ip", pl.String, held),
        _block_column(sess, "remote_ip", pl.String, held),
    )
    lport = _block_column(sess, "local_port", pl.Int64, held)
    rport = _block_column(sess, "remote_port", pl.Int64, held)
    sides = pl.DataFrame({"conn": conn_b, "local_ip": lip, "local_port": lport, "remote_ip": rip,
                          "remote_port": rport})  # fmt: skip
    stacked = pl.concat(
        [
            sides.with_columns(src_ip=lip, src_port=lport, dst_ip=rip, dst_port=rport),
            sides.with_columns(src_ip=rip, src_port=rport, dst_ip=lip, dst_port=lport),
        ]
    )
    take = np.where(blk >= 0, blk, nb) + inbound * (nb + 1)
    conn_cols = stacked[take.astype(np.uint32)]
    conn = conn_cols.get_column("conn")
    if conn.null_count():  # packets of no block, or of a block without its 4-tuple
        miss = np.flatnonzero(conn.is_null().to_numpy())
        conn = conn.scatter(miss, ("table" + pl.Series(table_no[miss] + t0).cast(pl.String)))
    hdr = "tcp_hdr" if "tcp_hdr" in p.columns else "tcphdr"
    flags = _flag_columns(p.get_column(hdr))
    frame = pl.DataFrame(
        [
            pl.Series("line", pkt_idx + 1, dtype=pl.Int64),
            conn,
            nums.get_column("nr"),
            ts,
            p.get_column("time"),
            nums.get_column("delta_s"),
            _DIRECTIONS.gather(inbound.astype(np.uint32)),
            pl.repeat("TCP", n, dtype=pl.String, eager=True).alias("protocol"),
            *flags.get_columns(),
            *nums.select("seq", "ack_num", "window", "data_len").get_columns(),
            *conn_cols.select(
                "src_ip",
                "src_port",
                "dst_ip",
                "dst_port",
                "local_ip",
                "local_port",
                "remote_ip",
                "remote_port",
            ).get_columns(),  # fmt: skip
            p.get_column("ibm_flag"),
        ]
    )
    last = n - 1
    carry_out = {"nr": int(nr_np[last]), "secs": clock[0], "days": clock[1]}
    return frame, int(table_no[-1]), carry_out


def _carry(sess: pl.DataFrame, block_starts, heading_idx, pkt_idx, before: dict,
           packets: dict | None) -> dict:  # fmt: skip
    """What the next piece needs to go on with this one's last connection and table: the
    last block's connection columns (or the carried ones, when the piece has no block),
    the last packet's number, clock and day offset, and whether a heading or a block comes
    after that packet (then the next piece's first packet starts a table of its own)."""
    out = dict(before)
    if len(block_starts):
        row = sess.row(len(block_starts) - 1, named=True)
        out["block"] = {c: row.get(c) for c in _CARRIED}
    if packets is not None:
        out.update(packets)
        last_pkt = int(pkt_idx[-1])
    else:
        last_pkt = -1
    after = [int(heading_idx[-1])] if len(heading_idx) else []
    after += [int(block_starts[-1])] if len(block_starts) else []
    out["fresh"] = bool(after and max(after) > last_pkt) or (
        packets is None and before.get("fresh", False)
    )
    return out


#: the block columns a packet takes from its connection
_CARRIED = ("conn", "local_ip", "local_port", "remote_ip", "remote_port")


_DIRECTIONS = pl.Series("direction", ["out", "in"], dtype=pl.String)
_FLAG_NAMES = (("S", "syn"), ("A", "ack"), ("P", "psh"), ("F", "fin"), ("R", "rst"), ("U", "urg"))


def _flag_columns(hdr: pl.Series) -> pl.DataFrame:
    """The flag booleans and ``tcp_flags`` of the TcpHdr column, worked out once per distinct
    header text (a trace has a few dozen) and joined back to the rows."""
    text = hdr.fill_null("").alias("h")
    distinct = text.unique()
    per = pl.DataFrame(
        [distinct]
        + [distinct.str.contains(letter, literal=True).alias(name) for letter, name in _FLAG_NAMES]
        + [distinct.str.replace_all(" ", "", literal=True).alias("tcp_flags")]
    )
    return text.to_frame().join(per, on="h", how="left", maintain_order="left").drop("h")


def to_pandas(frame: pl.DataFrame) -> pd.DataFrame:
    """polars → pandas with zdiag's nullable dtypes (Int64, Float64, boolean, Arrow strings,
    datetime64[us]); numbers go through numpy with a null mask, strings stay in Arrow."""
    cols = {}
    for name, s in zip(frame.columns, frame.get_columns(), strict=True):
        dt = s.dtype
        nulls = s.is_null().to_numpy()
        if dt == pl.String:
            cols[name] = pd.array(s.to_arrow(compat_level=pl.CompatLevel.oldest()), dtype=STR)
        elif dt == pl.Boolean:
            cols[name] = pd.arrays.BooleanArray(s.fill_null(False).to_numpy(), nulls)
        elif dt.is_integer():
            cols[name] = pd.arrays.IntegerArray(s.fill_null(0).cast(pl.Int64).to_numpy(), nulls)
        elif dt.is_float():
            cols[name] = pd.arrays.FloatingArray(s.fill_null(0.0).to_numpy(), nulls)
        elif dt == pl.Datetime("us"):
            cols[name] = pd.Series(s.to_numpy(), dtype="datetime64[us]")
        else:  # pragma: no cover - no other types are built here
            cols[name] = s.to_pandas()
    return pd.DataFrame(cols)


_US_PER_DAY = 86_400_000_000
_NO_DAY = np.datetime64(NO_DATE.replace("/", "-"), "D")


def _mark_days(date_marks: dict[int, str]) -> dict:
    """``**** yyyy/mm/dd`` marks as days (NaT where the printed date is not a date)."""
    if not date_marks:
        return {}
    days = pd.to_datetime(pd.Series(list(date_marks.values()), dtype=object),
                          format="%Y/%m/%d", errors="coerce")  # fmt: skip
    vals = days.to_numpy().astype("datetime64[D]")
    return dict(zip(date_marks, vals, strict=True))


def _timestamps(pkt_idx: np.ndarray, marks: dict[int, str], time: pl.Series,
                table_no: np.ndarray, before: tuple | None = None) -> tuple[pl.Series, tuple]:  # fmt: skip
    """Join date and clock; add a day when the clock goes back by more than 12 hours.

    Each packet takes the most recent date mark above it (a ``****`` date line or its
    block's First timestamp), else NO_DATE. ``before``: (seconds of day, days added) of the
    packet just above the first one, when the first goes on with its table (a report cut
    inside a table). Returns the times and the last packet's (seconds of day, days added).
    """
    n = len(pkt_idx)
    if marks:
        pos = np.array(sorted(marks), dtype=np.int64)
        vals = [marks[q] for q in pos.tolist()]
        k = np.searchsorted(pos, pkt_idx, side="right") - 1
    else:
        vals, k = [], np.full(n, -1)
    days_of = np.array(vals + [_NO_DAY], dtype="datetime64[D]")
    day_ok = ~np.isnat(days_of)
    day_us = np.where(day_ok, days_of, np.datetime64(0, "D")).astype("datetime64[us]")
    day_us = day_us.astype(np.int64)
    k = np.where(k >= 0, k, len(vals))
    date_us = day_us[k]
    date_ok = day_ok[k]
    has = time.is_not_null().to_numpy()
    # hh:mm:ss.f… (the TIME terminal); like strptime, seconds up to 61 roll over
    t = time.fill_null("00:00:00.0")
    h, m, sec, frac = _clock(t) or _clock_text(t)
    tod_ok = (h < 24) & (m < 60) & (sec < 62) & (frac < 1_000_000)
    tod_us = np.where(tod_ok, ((h * 60 + m) * 60 + sec) * 1_000_000 + frac, 0).astype(np.int64)
    ok = date_ok & tod_ok
    secs = np.where(ok, (tod_us % _US_PER_DAY) / 1e6, np.nan)  # a leap second rolls over
    if before is not None:  # the table goes on from the piece before: its last packet first
        prev = np.nan if before[0] is None else before[0]
        secs_x, tables_x = np.r_[prev, secs], np.r_[table_no[0], table_no]
    else:
        secs_x, tables_x = secs, table_no
    back = np.r_[False, np.diff(secs_x) < -43200] & np.r_[False, np.diff(tables_x) == 0]
    run = np.cumsum(back)
    starts = np.r_[0, np.flatnonzero(np.diff(tables_x) != 0) + 1]
    lens = np.diff(np.r_[starts, len(secs_x)])
    days = run - np.repeat(run[starts] - back[starts], lens)
    if before is not None:
        days[: lens[0]] += before[1]
        days = days[1:]
    out = date_us + tod_us + days * _US_PER_DAY
    valid = ok & has
    stamp = pl.Series("ts", np.where(valid, out, 0)).cast(pl.Datetime("us"))
    last = float(secs[-1]) if n else np.nan
    clock = (None if np.isnan(last) else last, int(days[-1]) if n else 0)
    return pl.select(pl.when(pl.Series(valid)).then(stamp).alias("ts")).to_series(), clock


def _clock_text(t: pl.Series) -> tuple[np.ndarray, ...]:
    """Hours, minutes, seconds and microseconds (the first six fraction digits, padded) of
    ``hh:mm:ss.f…`` texts; 99 where a part is not a number."""
    hms = pl.select(
        h=t.str.slice(0, 2).cast(pl.Int64, strict=False),
        m=t.str.slice(3, 2).cast(pl.Int64, strict=False),
        s=t.str.slice(6, 2).cast(pl.Int64, strict=False),
        f=t.str.slice(9, 6).str.pad_end(6, "0").cast(pl.Int64, strict=False),
    )
    return tuple(hms[c].fill_null(99).to_numpy() for c in ("h", "m", "s", "f"))


def _clock(t: pl.Series) -> tuple[np.ndarray, ...] | None:
    """:func:`_clock_text` read straight from the column's bytes (the packet pattern's TIME
    terminal leaves nothing else), or None when a text is not exactly ``dd:dd:dd.d…``
    (then :func:`_clock_text` reads it)."""
    arr = t.rechunk().to_arrow(compat_level=pl.CompatLevel.oldest())
    n = len(arr)
    if n == 0 or arr.null_count:
        return None
    _, offsets, data = arr.buffers()
    off = np.frombuffer(offsets, dtype=np.int64, count=n + 1, offset=arr.offset * 8)
    raw = np.frombuffer(data, dtype=np.uint8)
    start, length = off[:-1], np.diff(off)
    if (length < 10).any():
        return None
    ok = (raw[start + 2] == 58) & (raw[start + 5] == 58) & (raw[start + 8] == 46)  # : : .

    def digit(k: int, present: np.ndarray | None = None) -> np.ndarray:
        nonlocal ok
        at = start + k if present is None else np.where(present, start + k, start)
        d = raw[at].astype(np.int64) - 48
        good = (d >= 0) & (d <= 9)
        ok &= good if present is None else (good | ~present)
        return d if present is None else np.where(present, d, 0)

    h, m, s = (digit(k) * 10 + digit(k + 1) for k in (0, 3, 6))
    frac = np.zeros(n, dtype=np.int64)
    for k in range(9, 15):
        frac = frac * 10 + digit(k, length > k)
    return (h, m, s, frac) if ok.all() else None


#: where :mod:`zdiag.stream` may cut a large report: before a summary block (its ``Local Ip
#: Address:`` line), and where no block starts in the rest of the buffer (one connection
#: whose packet table runs on for more than a piece), before a packet row (the grammar's
#: ``packet_row``); :func:`parse_chunk` carries the connection and the table over such a cut
CUT_POINTS = CutPoints(
    re.compile(rb"^ *Local Ip Address:", re.MULTILINE),
    cache(lambda: line_pattern(GRAMMAR, "packet_row")),
)


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
        extra={
            "lines": "series",
            # the pipeline may cut a large report just before a summary block, or inside a
            # long packet table, and parse the pieces one by one (memory stays bounded)
            "chunk_marker": CUT_POINTS,
            "parse_chunk": parse_chunk,
            "prepare_chunk": prepare_chunk,
        },
    )
)
