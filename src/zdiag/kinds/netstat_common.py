"""Shared by netstat.zos and netstat.peer: the TCP state map, sockets, snake_case field names,
typed columns and snapshot timestamps. Not a report kind itself (registers nothing)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa

from zdiag.grammar import MATCH_GROUP, by_distinct, extract, matches, row_regex
from zdiag.kinds.addresses import canonical_ip
from zdiag.kinds.addresses import canonical_ips as canonical_ips_column
from zdiag.kinds.base import null_array
from zdiag.tables import STR

#: RFC 793 state names, as SPEC §4 spells them
RFC_STATES = ("ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "TIME_WAIT", "LAST_ACK",
              "CLOSING", "LISTEN", "SYN_SENT", "SYN_RECEIVED", "CLOSED")  # fmt: skip

#: every printed spelling zdiag knows → RFC 793 name. Keys are the printed state upper-cased
#: with "-", "_" and blanks removed, so `FIN-WAIT-2`, `FIN_WAIT2`, `FinWait2` share one key.
#: Sources: z/OS TSO/UNIX (Listen Establsh ClosWait ... FORMATS §1.4), z/OS console (Estblsh
#: FinWt1 FinWt2 ClosWt, upper case in old releases), Linux net-tools (FIN_WAIT1 SYN_RECV
#: CLOSE), iproute2 ss (ESTAB CLOSE-WAIT SYN-RECV UNCONN), BSD/macOS (SYN_RCVD), RFC itself.
STATE_MAP: dict[str, str] = {
    "ESTABLISHED": "ESTABLISHED", "ESTABLSH": "ESTABLISHED", "ESTBLSH": "ESTABLISHED",
    "ESTAB": "ESTABLISHED",
    "LISTEN": "LISTEN", "LISTENING": "LISTEN",
    "SYNSENT": "SYN_SENT",
    "SYNRECEIVED": "SYN_RECEIVED", "SYNRCVD": "SYN_RECEIVED", "SYNRECV": "SYN_RECEIVED",
    "SYNRCVED": "SYN_RECEIVED",
    "FINWAIT1": "FIN_WAIT_1", "FINWT1": "FIN_WAIT_1",
    "FINWAIT2": "FIN_WAIT_2", "FINWT2": "FIN_WAIT_2",
    "CLOSEWAIT": "CLOSE_WAIT", "CLOSWAIT": "CLOSE_WAIT", "CLOSWT": "CLOSE_WAIT",
    "TIMEWAIT": "TIME_WAIT", "TIMEWT": "TIME_WAIT", "TIMEWAT": "TIME_WAIT",
    "LASTACK": "LAST_ACK",
    "CLOSING": "CLOSING",
    "CLOSED": "CLOSED", "CLOSE": "CLOSED", "UNCONN": "CLOSED",
}  # fmt: skip


def normalise_states(raw: pd.Series) -> pd.Series:
    """RFC 793 names for printed states (vectorised); unknown spellings stay null."""
    key = raw.astype(STR).str.upper().str.replace(r"[-_ ]", "", regex=True)
    return key.map(STATE_MAP).astype(STR)


def canonical_ips(col: pd.Series) -> pd.Series:
    """canonical_ip over a column, computed once per distinct value."""
    vals = col.astype(object)
    uniq = pd.unique(vals[vals.notna()])
    mapping = {u: canonical_ip(u) for u in uniq}
    return pd.Series(vals.map(mapping), index=col.index, dtype=STR)


# ---- field names and typed columns ------------------------------------------------------

_SNAKE_ALIASES = {
    "ReXmt": "rexmt", "ReXmtCount": "rexmt_count", "DupACKs": "dup_acks",
    "DefaultKeepALive": "default_keep_alive", "rtt_seq": "rtt_seq",
}  # fmt: skip


#: ALL/CONFIG labels seen in real reports (FORMATS, samples). Their column names are fixed
#: here so that the same field printed in another case or spacing (console responses are
#: upper case: BYTESIN) lands in the same column.
KNOWN_LABELS = (
    "Client Name", "Client Id", "Local Socket", "Foreign Socket", "BytesIn", "BytesOut",
    "SegmentsIn", "SegmentsOut", "StartDate", "StartTime", "Last Touched", "State", "RcvNxt",
    "SndNxt", "ClientRcvNxt", "ClientSndNxt", "InitRcvSeqNum", "InitSndSeqNum",
    "CongestionWindow", "SlowStartThreshold", "IncomingWindowNum", "OutgoingWindowNum",
    "SndWl1", "SndWl2", "SndWnd", "MaxSndWnd", "SndUna", "rtt_seq", "MaximumSegmentSize",
    "DSField", "Smooth trip time", "SmoothTripVariance", "ReXmt", "ReXmtCount", "DupACKs",
    "RcvWnd", "SockOpt", "TcpTimer", "TcpSig", "TcpSel", "DefaultKeepALive", "FinWait2Time",
    "TcpTimeStamp", "TimeWaitInterval", "DestIP", "Gw", "Intf", "Refcnt", "Flgs", "MTU",
)  # fmt: skip


def _squash(label: str) -> str:
    return re.sub(r"[^a-z0-9]", "", label.lower())


def _camel_snake(label: str) -> str:
    label = label.strip()
    if label in _SNAKE_ALIASES:
        return _SNAKE_ALIASES[label]
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", label)
    s = re.sub(r"[^A-Za-z0-9]+", "_", s).strip("_").lower()
    return re.sub(r"_+", "_", s) or "field"


_KNOWN = {_squash(label): _camel_snake(label) for label in KNOWN_LABELS}


def snake(label: str) -> str:
    """``MaxSndWnd`` → ``max_snd_wnd``, ``Smooth trip time`` → ``smooth_trip_time``; a known
    label in any case or spacing (``BYTESIN``) → its known column (``bytes_in``)."""
    return _KNOWN.get(_squash(label)) or _camel_snake(label)


_INT_RX = r"^[+-]?\d+$"
_FLOAT_RX = r"^[+-]?\d+\.\d+$"
_HEX2_RX = r"^[0-9A-Fa-f]{2}$"


def typed(col: pd.Series, keep_text: frozenset[str] = frozenset(), name: str = "") -> pd.Series:
    """A column of printed values as Int64 / Float64 when every value is such a number,
    else string. Two-digit hex flag bytes (``DSField: 00``, ``TcpSig: 04``) and the names in
    ``keep_text`` stay text."""
    s = col.astype(STR)
    vals = s.dropna()
    if name in keep_text or not len(vals):
        return s
    if vals.str.match(_HEX2_RX).all():
        return s
    if vals.str.match(_INT_RX).all():
        num = pd.to_numeric(vals, errors="coerce")
        if num.notna().all() and num.abs().max() < 2**63:
            return pd.to_numeric(s, errors="coerce").astype("Int64")
        return s
    if (
        vals.str.match(_FLOAT_RX).all()
        or (vals.str.match(_INT_RX) | vals.str.match(_FLOAT_RX)).all()
    ):
        return pd.to_numeric(s, errors="coerce").astype("Float64")
    return s


# ---- snapshot timestamps ----------------------------------------------------------------

#: the date used when a report prints only hh:mm:ss (as Python's strptime and the packet
#: parsers do); spans between snapshots stay computable
NO_DATE = "1900-01-01"


def snapshot_times(clocks: list[str | None]) -> pd.Series:
    """Timestamps for a file's snapshot clocks in file order: the date starts at NO_DATE and
    rolls one day forward whenever the clock goes back by more than 12 hours (midnight
    passed between two snapshots of a NETSTAT loop). A smaller step back (snapshots
    concatenated out of order) keeps the day. A missing clock gives NaT."""
    t = pd.to_timedelta(pd.Series(clocks, dtype=object), errors="coerce")
    secs = t.dt.total_seconds().to_numpy()
    valid = ~np.isnan(secs)
    filled = pd.Series(np.where(valid, secs, np.nan)).ffill().to_numpy()
    back = np.r_[False, np.diff(filled) < -43200]
    days = np.cumsum(np.nan_to_num(back.astype(float)))
    ts = pd.Timestamp(NO_DATE) + t + pd.to_timedelta(days, unit="D")
    return ts.astype("datetime64[us]")


# ---- polars fast path -------------------------------------------------------------------


def to_pandas(df: pl.DataFrame) -> pd.DataFrame:
    """A polars frame as pandas with the table dtypes (Arrow strings, Int64, Float64,
    datetime64[us]) without a round trip through Python objects."""
    out = {}
    for name, s in zip(df.columns, df.get_columns(), strict=True):
        dt = s.dtype
        if dt == pl.String:
            out[name] = pd.arrays.ArrowStringArray(s.to_arrow().cast(pa.large_string()))
        elif dt.is_integer():
            out[name] = pd.arrays.IntegerArray(
                s.fill_null(0).cast(pl.Int64).to_numpy(), s.is_null().to_numpy()
            )
        elif dt.is_float():
            out[name] = pd.arrays.FloatingArray(
                s.fill_null(0.0).cast(pl.Float64).to_numpy(), s.is_null().to_numpy()
            )
        elif dt == pl.Boolean:
            out[name] = pd.arrays.BooleanArray(
                s.fill_null(False).to_numpy(), s.is_null().to_numpy()
            )
        elif isinstance(dt, pl.Datetime):
            out[name] = s.cast(pl.Datetime("us")).to_numpy().astype("datetime64[us]")
        elif dt == pl.Null:
            out[name] = null_array(STR, len(s))
        else:
            out[name] = s.to_pandas()
    return pd.DataFrame(out)


def split_sockets_pl(tokens: pl.Series, grammar: str, rules: tuple[str, ...]) -> pl.DataFrame:
    """Polars twin of split_sockets: columns ip, port (Int64), port_name (once per distinct
    socket text: snapshots repeat them)."""
    return by_distinct(tokens.cast(pl.String), lambda t: _split_sockets_pl(t, grammar, rules))


def _split_sockets_pl(tokens: pl.Series, grammar: str, rules: tuple[str, ...]) -> pl.DataFrame:
    ip = pl.Series("ip", [None] * len(tokens), dtype=pl.String)
    port = pl.Series("port", [None] * len(tokens), dtype=pl.String)
    done = pl.Series("d", [False] * len(tokens))
    for rule in rules:
        got = extract(tokens.cast(pl.String), row_regex(grammar, rule))
        hit = got[MATCH_GROUP].is_not_null() & ~done
        frame = pl.DataFrame({"hit": hit, "ip": ip, "port": port, "nip": got["ip"],
                              "nport": got["port"]})  # fmt: skip
        frame = frame.select(
            pl.when("hit").then("nip").otherwise("ip").alias("ip"),
            pl.when("hit").then("nport").otherwise("port").alias("port"),
        )
        ip, port = frame["ip"], frame["port"]
        done = done | hit
    num = port.cast(pl.Int64, strict=False)
    name = pl.select(
        pl.when(num.is_null() & port.is_not_null() & (port != "*")).then(port).otherwise(None)
    ).to_series()
    ip = canonical_ips_column(ip)
    ip = pl.select(pl.when(ip == "").then(None).otherwise(ip)).to_series()
    return pl.DataFrame({"ip": ip, "port": num, "port_name": name.cast(pl.String)})


def normalise_states_pl(raw: pl.Series) -> pl.Series:
    """RFC 793 names for printed states (polars); unknown spellings stay null."""
    key = raw.cast(pl.String).str.to_uppercase().str.replace_all(r"[-_ ]", "")
    return key.replace_strict(STATE_MAP, default=None, return_dtype=pl.String)


def typed_pl(s: pl.Series, keep_text: frozenset[str] = frozenset(), name: str = "") -> pl.Series:
    """Polars twin of typed(): Int64 / Float64 when every value is such a number, else text."""
    s = s.cast(pl.String)
    vals = s.drop_nulls()
    if name in keep_text or not len(vals):
        return s
    if vals.str.contains(_HEX2_RX).all():
        return s
    if vals.str.contains(_INT_RX).all():
        num = s.cast(pl.Int64, strict=False)
        return num if num.null_count() == s.null_count() else s
    if (vals.str.contains(_INT_RX) | vals.str.contains(_FLOAT_RX)).all():
        return s.cast(pl.Float64, strict=False)
    return s


def fill_schema(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """Add the table's schema columns that ``df`` lacks as typed null columns (built as
    arrays, so that conforming a large table does not go through Python lists)."""
    from zdiag.tables import FLOAT, INT, SCHEMAS, TS

    n = len(df)
    add = {}
    for col, dtype in SCHEMAS[table].items():
        if col in df.columns or col in ("case", "source"):
            continue
        if dtype == STR:
            add[col] = pd.arrays.ArrowStringArray(pa.nulls(n, pa.large_string()))
        elif dtype == INT:
            add[col] = pd.arrays.IntegerArray(np.zeros(n, np.int64), np.ones(n, bool))
        elif dtype == FLOAT:
            add[col] = pd.arrays.FloatingArray(np.zeros(n), np.ones(n, bool))
        elif dtype == TS:
            add[col] = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
    if not add:
        return df
    return pd.concat([df, pd.DataFrame(add, index=df.index)], axis=1)


def match_rows(
    s: pl.Series, todo: np.ndarray, grammar: str, rule: str
) -> tuple[np.ndarray, pl.DataFrame]:
    """Lines (indexes into ``s``, among ``todo``) that match a row rule, and their groups.

    A capture-free match (a DFA in Rust) finds the hits first; groups are extracted only
    from those, which keeps the many rules that match few lines cheap."""
    pat = row_regex(grammar, rule)
    if len(todo) * 4 > len(s):
        # most lines are still to do: test them all in place rather than copying them out
        mask = matches(s, pat)[todo]
    else:
        mask = matches(s.gather(todo), pat)
    idx = todo[mask]
    got = extract(s.gather(idx), pat)
    hit = got[MATCH_GROUP].is_not_null().to_numpy()  # always true; kept as a guard
    got = got.filter(pl.Series(hit)).drop(MATCH_GROUP)
    return idx[hit], got.insert_column(0, pl.Series("idx", idx[hit], dtype=pl.Int64))
