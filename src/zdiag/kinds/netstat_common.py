"""Shared by netstat.zos and netstat.peer: the TCP state map, sockets, snake_case field names,
typed columns and snapshot timestamps. Not a report kind itself (registers nothing)."""

from __future__ import annotations

import ipaddress
import re

import numpy as np
import pandas as pd
import polars as pl

from zdiag.grammar import MATCH_GROUP, extract, row_regex
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


def canonical_ip(text: str | None) -> str | None:
    """Canonical text of an IP address (``ipaddress``); anything else (``*``, host names,
    ``Default``) is kept as printed. A ``%zone`` suffix is dropped."""
    if text is None or (isinstance(text, float) and np.isnan(text)) or text is pd.NA:
        return None
    try:
        ip = ipaddress.ip_address(str(text).split("%")[0])
    except ValueError:
        return text
    mapped = getattr(ip, "ipv4_mapped", None)
    # RFC 5952 §5: IPv4-mapped addresses keep their dotted tail (Python < 3.13 prints hex)
    return f"::ffff:{mapped}" if mapped is not None else str(ip)


def canonical_ips(col: pd.Series) -> pd.Series:
    """canonical_ip over a column, computed once per distinct value."""
    vals = col.astype(object)
    uniq = pd.unique(vals[vals.notna()])
    mapping = {u: canonical_ip(u) for u in uniq}
    return pd.Series(vals.map(mapping), index=col.index, dtype=STR)


def split_sockets(tokens: pd.Series, grammar: str, rules: tuple[str, ...]) -> pd.DataFrame:
    """Split socket tokens into ``ip`` and ``port`` with the grammar's socket rules, tried in
    order (first match wins). Ports that are not numbers (``*``, service names) become null
    ports and are kept in ``port_name``."""
    n = len(tokens)
    ip = np.full(n, None, dtype=object)
    port = np.full(n, None, dtype=object)
    todo = tokens.notna().to_numpy().copy()
    s = pl.Series("t", tokens.astype(object).where(tokens.notna(), None).tolist(), dtype=pl.String)
    for rule in rules:
        if not todo.any():
            break
        got = extract(s, row_regex(grammar, rule))
        hit = got[MATCH_GROUP].is_not_null().to_numpy() & todo
        ip[hit] = got["ip"].to_numpy()[hit]
        port[hit] = got["port"].to_numpy()[hit]
        todo &= ~hit
    port_s = pd.Series(port, dtype=object)
    num = pd.to_numeric(port_s, errors="coerce")
    name = port_s.where(num.isna() & port_s.notna() & (port_s != "*"))
    return pd.DataFrame(
        {
            "ip": canonical_ips(pd.Series(ip, dtype=object)).replace("", pd.NA),
            "port": pd.array(num, dtype="Int64"),
            "port_name": pd.array(name, dtype=STR),
        }
    )


# ---- field names and typed columns ------------------------------------------------------

_SNAKE_ALIASES = {
    "ReXmt": "rexmt", "ReXmtCount": "rexmt_count", "DupACKs": "dup_acks",
    "DefaultKeepALive": "default_keep_alive", "rtt_seq": "rtt_seq",
}  # fmt: skip


def snake(label: str) -> str:
    """``MaxSndWnd`` → ``max_snd_wnd``, ``Smooth trip time`` → ``smooth_trip_time``."""
    label = label.strip()
    if label in _SNAKE_ALIASES:
        return _SNAKE_ALIASES[label]
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", label)
    s = re.sub(r"[^A-Za-z0-9]+", "_", s).strip("_").lower()
    return re.sub(r"_+", "_", s) or "field"


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
