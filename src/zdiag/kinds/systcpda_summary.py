"""Kind ``systcpda.summary``: IPCS CTRACE COMP(SYSTCPDA) OPTIONS((SUMMARY)) listings and the
EXPORT(SUMMARY) CSV data set.

SUMMARY prints two lines per packet record (FORMATS.md §3)::

    DP   Nr hh:mm:ss.mmmmmm IpId    Seq_num    Ack_num  Wndw Flags            DatLn Source/Destination
    IT    4 14:18:01.111074 4E3D 3454024896 1452693654 32768 ACK PSH             47 192.168.248.44-5000
                            3232302D 2057656C *.......% 220- Wel*                   10.7.1.61-3470

EXPORT(SUMMARY) writes the same per-packet summary as CSV (FORMATS.md §7); the published copy
folds each record over three lines, so a record is the run of lines that end with ``,`` plus
the line after them (one line per record works the same). Both go to one ``packets`` table:
they are the same report (the SUMMARY of each packet) in two forms, and a CSV of an export
is read where the listing is read.

``packets`` columns: nr, ts (the date from the last ``**** yyyy/mm/dd`` line above, or
1900-01-01 when the report prints none, as systcpda.session does; a day is added when the
clock goes back by more than 12 hours), direction (``in``/``out`` from D), protocol (from
the P letter; the CSV's Protocol column as printed), TCP flag booleans, seq, ack_num,
window, data_len, ip_id (hex in SUMMARY, decimal in the CSV), src/dst ip+port, local/remote
from the direction (outbound: local = source) and ``conn`` =
``local_ip:local_port-remote_ip:remote_port``. Extra: ``data_hex``/``data_ebcdic``/
``data_ascii`` (the first 8 data bytes SUMMARY prints), and for the CSV ``device``,
``ip_len``, ``rel_s``, ``proto_len`` (the ``LEN=`` of the Summary text), ``summary``,
``export_flags``.

Path: record lines by the grammar's row patterns (polars, vectorised); line 2 is tied to
the record line right above it by position (numpy).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import polars as pl

from zdiag.grammar import MATCH_GROUP, extract, row_regex
from zdiag.kinds import systcpda_common as common
from zdiag.kinds.base import UNMARKED, Accounting, Kind
from zdiag.kinds.registry import register
from zdiag.tables import STR

GRAMMAR = "systcpda_summary"
NO_DATE = "1900/01/01"

#: the P letter of the DP column (FORMATS.md §3)
PROTOCOLS = {"T": "TCP", "U": "UDP", "I": "ICMP", "G": "IGMP", "D": "DATA", "P": "OTHER"}
#: flag word → (boolean column, letter used in tcp_flags, as systcpda.session prints them)
FLAG_WORDS = {"ACK": ("ack", "A"), "PSH": ("psh", "P"), "SYN": ("syn", "S"),
              "FIN": ("fin", "F"), "RST": ("rst", "R"), "URG": ("urg", "U")}  # fmt: skip


def _match(s: pl.Series, rule: str, todo: np.ndarray) -> tuple[np.ndarray, pl.DataFrame]:
    if not len(todo):
        return todo, pl.DataFrame()
    got = extract(s.gather(todo), row_regex(GRAMMAR, rule))
    hit = got[MATCH_GROUP].is_not_null().to_numpy()
    return todo[hit], got.filter(pl.Series(hit)).drop(MATCH_GROUP)


def parse(lines: list[str], acct: Accounting) -> dict[str, pd.DataFrame]:
    return parse_chunk(lines, acct, {})[0]


def parse_chunk(lines, acct: Accounting, state: dict) -> tuple[dict[str, pd.DataFrame], dict]:
    """Parse one piece of a SUMMARY listing that the pipeline cut just before a record line
    (:data:`CHUNK_AT`; never between a record's two lines). ``state`` carries the last
    ``**** yyyy/mm/dd`` date (``date``) and the clock of the last record with the days
    rolled so far (``secs``, ``days``). Returns the tables (lines numbered within the
    piece) and the state for the next piece."""
    s = common.series(lines)
    n = len(lines)
    # ---- record lines (hot path: one pattern over all lines) ------------------------
    # a record line starts with the DP column: a cheap test (no captures) picks the lines
    # the row pattern, with its many capture groups, then runs over
    lead = s.str.contains(r"^[ \t]*[IO][TUIGDP][ \t]").fill_null(False).to_numpy()
    row_idx, rows = _match(s, "summary_row", np.flatnonzero(lead & (acct.status == UNMARKED)))
    acct.parsed(row_idx)
    short_idx, short = _match(s, "summary_row_short",
                              np.flatnonzero(lead & (acct.status == UNMARKED)))  # fmt: skip
    acct.parsed(short_idx)
    if len(short_idx):
        rows = pl.concat([rows, short], how="diagonal")
        row_idx = np.r_[row_idx, short_idx]
        order = np.argsort(row_idx, kind="stable")
        row_idx, rows = row_idx[order], rows[order.tolist()]

    # ---- line 2: destination (and first data bytes), right below its record line -----
    below = row_idx + 1
    free = np.r_[acct.status == UNMARKED, False]
    cand = below[free[below]]
    dest_idx, dest = _match(s, "summary_dest", cand)
    dest_pos = np.full(n + 1, -1, dtype=np.int64)
    dest_pos[dest_idx] = np.arange(len(dest_idx))
    acct.parsed(dest_idx)

    head_idx, _ = _match(s, "summary_heading", np.flatnonzero(acct.status == UNMARKED))
    acct.layout(head_idx)
    date_marks = common.mark_layout(lines, s, acct)
    out: dict[str, pd.DataFrame] = {}
    after = dict(state)
    if date_marks:
        after["date"] = date_marks[max(date_marks)]
    packets = []
    if len(rows):
        pk, after = _packets(rows, row_idx, dest, dest_pos[below], date_marks, state, after)
        packets.append(pk)
    exp = _export(s, acct, state)
    if exp is not None:
        packets.append(exp[0])
        after.update(exp[1])
    if len(packets) > 1:  # a listing and CSV records in one file: in file order
        both = pd.concat(packets, ignore_index=True)
        out["packets"] = both.sort_values("line", kind="stable", ignore_index=True)
    elif packets:
        out["packets"] = packets[0]
    out.update(common.parse_sections(lines, s, acct))
    orphans, _ = _match(s, "summary_dest", np.flatnonzero(acct.status == UNMARKED))
    acct.unrecognised(orphans, "SUMMARY destination line without a record line above it")
    acct.claim_rest("not a SUMMARY record, heading or EXPORT CSV record")
    return out, after


def _dates(rows: np.ndarray, marks: dict[int, str], date0: str = NO_DATE) -> np.ndarray:
    """The date of the last date line above each record (``date0`` above the first)."""
    if not marks:
        return np.full(len(rows), date0, dtype=object)
    pos = np.array(sorted(marks), dtype=np.int64)
    vals = np.array([marks[p] for p in pos], dtype=object)
    k = np.searchsorted(pos, rows, side="right") - 1
    return np.where(k >= 0, vals[np.clip(k, 0, None)], date0).astype(object)


def timestamps(date: np.ndarray, time: pl.Series) -> pd.Series:
    """Join date and clock; add a day each time the clock goes back by more than 12 hours."""
    return _timestamps(date, time, {})[0]


def _timestamps(date: np.ndarray, time: pl.Series, carry: dict) -> tuple[pd.Series, dict]:
    """:func:`timestamps` continued from an earlier piece: ``carry`` holds the clock of the
    record before (``secs``, seconds since midnight) and the days added so far (``days``).
    Returns the time stamps and the state after the last record."""
    clock = pd.Series(time.to_list(), dtype=object)
    text = pd.Series(date, dtype=object) + " " + clock.fillna("00:00:00.0")
    ts = pd.to_datetime(text, format="%Y/%m/%d %H:%M:%S.%f", errors="coerce")
    secs = (ts - ts.dt.normalize()).dt.total_seconds().to_numpy()
    prev = carry.get("secs")
    back = np.diff(np.r_[np.nan if prev is None else prev, secs]) < -43200
    days = np.cumsum(back) + carry.get("days", 0)
    ts = ts + pd.to_timedelta(days, unit="D")
    ts[clock.isna().to_numpy()] = pd.NaT
    after = {"secs": float(secs[-1]) if len(secs) else prev,
             "days": int(days[-1]) if len(days) else carry.get("days", 0)}  # fmt: skip
    return ts.astype("datetime64[us]"), after


def _ends(df: pl.DataFrame, outbound: pl.Expr) -> pl.DataFrame:
    """local/remote ends and the connection id from src/dst and the direction."""
    loc_ip = pl.when(outbound).then(pl.col("src_ip")).otherwise(pl.col("dst_ip"))
    rem_ip = pl.when(outbound).then(pl.col("dst_ip")).otherwise(pl.col("src_ip"))
    loc_pt = pl.when(outbound).then(pl.col("src_port")).otherwise(pl.col("dst_port"))
    rem_pt = pl.when(outbound).then(pl.col("dst_port")).otherwise(pl.col("src_port"))
    df = df.with_columns(local_ip=loc_ip, remote_ip=rem_ip, local_port=loc_pt,
                         remote_port=rem_pt)  # fmt: skip
    with_ports = pl.concat_str([pl.col("local_ip"), pl.lit(":"), pl.col("local_port").cast(
        pl.String), pl.lit("-"), pl.col("remote_ip"), pl.lit(":"), pl.col("remote_port").cast(
        pl.String)])  # fmt: skip
    no_ports = pl.concat_str([pl.col("local_ip"), pl.lit("-"), pl.col("remote_ip")])
    return df.with_columns(conn=pl.coalesce(with_ports, no_ports))


def _canonical(col: pl.Series) -> pl.Series:
    return col.str.strip_chars().replace_strict(
        {v: common.canonical_ip(v) for v in col.str.strip_chars().unique().to_list()
         if v is not None}, default=None, return_dtype=pl.String)  # fmt: skip


def _to_pandas(df: pl.DataFrame, line: np.ndarray, ts: pd.Series) -> pd.DataFrame:
    """Columnar hand-over: Arrow-backed strings, nullable ints/floats/booleans."""
    out = {"line": pd.array(line + 1, dtype="Int64")}
    for c in df.columns:
        dt = df[c].dtype
        col = df[c].to_pandas(use_pyarrow_extension_array=True)
        if dt == pl.Boolean:
            out[c] = col.astype("boolean").array
        elif dt.is_integer():
            out[c] = col.astype("Int64").array
        elif dt.is_float():
            out[c] = col.astype("Float64").array
        elif dt == pl.Null:
            out[c] = pd.array([None] * len(df), dtype=STR)
        else:
            out[c] = col.astype(STR).array
    frame = pd.DataFrame(out)
    frame.insert(2, "ts", ts.to_numpy())
    return frame


def _packets(rows: pl.DataFrame, row_idx, dest: pl.DataFrame, dpos, date_marks, state, after):
    take = pl.Series("take", dpos, dtype=pl.Int64)
    take = pl.select(pl.when(take >= 0).then(take)).to_series()  # null: no line 2
    empty = pl.Series([None] * len(rows), dtype=pl.String)

    def dcol(name: str) -> pl.Series:
        return dest[name].gather(take) if len(dest) else empty  # null where no line 2

    text = dcol("data_text")
    flags = rows["tcp_flags"] if "tcp_flags" in rows.columns else empty
    flags = flags.fill_null("")
    df = pl.DataFrame(
        {
            "nr": rows["nr"].cast(pl.Int64, strict=False),
            "time": rows["time"],
            "direction": rows["dp"].str.slice(0, 1).replace_strict({"I": "in", "O": "out"}),
            "protocol": rows["dp"].str.slice(1, 1).replace_strict(PROTOCOLS, default="OTHER"),
        }
    )
    is_tcp = df["protocol"] == "TCP"
    for word, (col, _) in FLAG_WORDS.items():
        # flags of a non-TCP record are unknown, not false
        has = flags.str.contains(rf"\b{word}\b")
        df = df.with_columns(pl.when(is_tcp).then(has).alias(col))
    letters = flags
    for word, (_, letter) in FLAG_WORDS.items():
        letters = letters.str.replace_all(word, letter, literal=True)
    df = df.with_columns(
        tcp_flags=pl.when(flags == "").then(None).otherwise(letters.str.replace_all(" ", "")),
        seq=(rows["seq"] if "seq" in rows.columns else empty).cast(pl.Int64, strict=False),
        ack_num=(rows["ack_num"] if "ack_num" in rows.columns else empty).cast(
            pl.Int64, strict=False
        ),
        window=(rows["window"] if "window" in rows.columns else empty).cast(pl.Int64, strict=False),
        data_len=rows["data_len"].cast(pl.Int64, strict=False),
        ip_id=rows["ip_id"].str.to_integer(base=16, strict=False),
        src_ip=_canonical(rows["src_ip"]),
        src_port=rows["src_port"].cast(pl.Int64, strict=False),
        dst_ip=_canonical(dcol("dst_ip")),
        dst_port=dcol("dst_port").cast(pl.Int64, strict=False),
        data_hex=dcol("data_hex"),
        data_ebcdic=text.str.slice(1, 8),
        data_ascii=text.str.slice(10, 8),
    )
    df = _ends(df, pl.col("direction") == "out")
    dates = _dates(row_idx, date_marks, state.get("date", NO_DATE))
    ts, clock = _timestamps(dates, rows["time"], state)
    return _to_pandas(df, row_idx, ts), {**after, **clock}


# ---- EXPORT(SUMMARY) CSV --------------------------------------------------------------
def _export(s: pl.Series, acct: Accounting, state: dict) -> tuple[pd.DataFrame, dict] | None:
    """CSV records, folded or not: a record is a run of lines ending in ',' plus the next."""
    if not s.str.contains('"', literal=True).any():
        return None
    todo = acct.status == UNMARKED
    cont = s.str.strip_chars_end().str.ends_with(",").fill_null(False).to_numpy() & todo
    start = np.r_[True, ~cont[:-1]] if len(cont) else np.array([], dtype=bool)
    gid = np.cumsum(start) - 1
    frame = pl.DataFrame({"text": s, "gid": gid, "todo": todo, "i": np.arange(len(s))})
    recs = (
        frame.group_by("gid", maintain_order=True)
        .agg(
            pl.col("text").str.join(" "),
            pl.col("todo").all(),
            pl.col("i").first(),
            pl.len().alias("n"),
        )  # fmt: skip
        .filter(pl.col("todo"))
    )
    rec_text = recs["text"]
    head = extract(rec_text, row_regex(GRAMMAR, "export_heading"))[MATCH_GROUP].is_not_null()
    got = extract(rec_text, row_regex(GRAMMAR, "export_row"))
    hit = got[MATCH_GROUP].is_not_null().to_numpy()
    member = np.isin(gid, recs["gid"].filter(pl.Series(hit) | head).to_numpy())
    is_head_line = np.isin(gid, recs["gid"].filter(head).to_numpy())
    acct.layout(np.flatnonzero(member & is_head_line))
    acct.parsed(np.flatnonzero(member & ~is_head_line))
    if not hit.any():
        return None
    g = got.filter(pl.Series(hit))
    first = recs["i"].filter(pl.Series(hit)).to_numpy()

    def unq(col: str) -> pl.Series:
        return g[col].str.strip_chars('"').str.strip_chars()

    summary = unq("q_summary")
    outbound = unq("q_flags").str.slice(0, 1) == "O"
    df = pl.DataFrame(
        {
            "nr": g["nr"].cast(pl.Int64, strict=False),
            "time": unq("q_time"),
            "delta_s": g["delta_s"].cast(pl.Float64, strict=False),
            "direction": pl.select(
                pl.when(outbound).then(pl.lit("out")).otherwise(pl.lit("in"))
            ).to_series(),
            "protocol": unq("q_protocol"),
            "ip_id": g["ip_id_dec"].cast(pl.Int64, strict=False),
            "src_ip": _canonical(unq("q_src")),
            "src_port": summary.str.extract(r"(?:^| )S=(\d+)", 1).cast(pl.Int64, strict=False),
            "dst_ip": _canonical(unq("q_dst")),
            "dst_port": summary.str.extract(r"(?:^| )D=(\d+)", 1).cast(pl.Int64, strict=False),
            "device": unq("q_device"),
            "ip_len": g["ip_len"].cast(pl.Int64, strict=False),
            "rel_s": g["rel_s"].cast(pl.Float64, strict=False),
            "proto_len": summary.str.extract(r"(?:^| )LEN=(\d+)", 1).cast(pl.Int64, strict=False),
            "summary": summary,
            "export_flags": unq("q_flags"),
        }
    )
    df = _ends(df, pl.col("direction") == "out")
    carry = {"secs": state.get("csv_secs"), "days": state.get("csv_days", 0)}
    ts, clock = _timestamps(np.full(len(df), NO_DATE, dtype=object), df["time"], carry)
    return _to_pandas(df, first, ts), {"csv_secs": clock["secs"], "csv_days": clock["days"]}


#: where the stream may cut a large listing: a record line (DP, Nr, time), never the line
#: after a CSV line ending with ``,`` (an EXPORT record folded over lines goes on there)
CHUNK_AT = re.compile(
    rb"(?m)(?<!,\n)(?<!,\r\n)(?<!, \n)^[ \t]*[IO][TUIGDP][ \t]+\d+[ \t]+\d\d:\d\d:\d\d"
)


def detect(head: list[str]) -> float:
    text = "\n".join(head)
    score = 0.0
    if "Seq_num" in text and "Ack_num" in text and "DatLn" in text:
        score = 0.9
    if '"Flags' in text and '"Packet"' in text and '"Absolute Time' in text:
        score = max(score, 0.9)
    if score == 0.0:
        got = extract(head, row_regex(GRAMMAR, "summary_row"))[MATCH_GROUP].is_not_null()
        if got.sum() >= 2:
            score = 0.8
    return score


register(
    Kind(
        name="systcpda.summary",
        description="IPCS CTRACE COMP(SYSTCPDA) OPTIONS((SUMMARY)): two-line packet records; "
        "and the EXPORT(SUMMARY) CSV data set",
        tables=("packets",),
        detect=detect,
        parse=parse,
        grammar=GRAMMAR,
        samples=(
            "systcpda/summary_ftp_ibm_fig1.txt",
            "systcpda/export_summary_csv_ipv4_ipv6.txt",
        ),
        extra={
            "lines": "series",
            # large listings are cut before a record line and parsed piece by piece (memory
            # stays bounded); see zdiag.stream
            "chunk_marker": CHUNK_AT,
            "parse_chunk": parse_chunk,
        },
        path="record lines: grammar row pattern (summary_row), polars (vectorised); line 2 "
        "paired by position (numpy); CSV: folded lines joined by a polars group-by, then "
        "the export_row pattern",
    )
)
