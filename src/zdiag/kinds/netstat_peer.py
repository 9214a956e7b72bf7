"""Kind ``netstat.peer``: netstat/ss output from the other end of a z/OS connection.

Layouts: Linux net-tools ``netstat -tan``/``-tanp`` (``Proto Recv-Q Send-Q Local Foreign
State [PID/Program]``, port after the last ``:``), iproute2 ``ss -tan``/``ss -tani`` (``[Netid]
State Recv-Q Send-Q Local:Port Peer:Port [Process]``, bracketed IPv6 possible, ``-i`` info line
under each row), BSD/macOS ``netstat -an [-p tcp]`` (``tcp4``/``tcp6``, port after the last
``.``, ``*.*``, UDP rows without a state, a UNIX-domain socket table after the Internet one,
accounted as layout), and Stratus OpenVOS ``analyze_system`` requests (``set_longword name
value``, ``set_stcp_param name value``) which set STCP parameters → ``stack_config``.

Tables:
- ``connections``: proto, recv_q, send_q, local/remote ip and port (``port_name`` when a
  service name or ``*`` is printed), ``state`` (RFC 793, netstat_common.STATE_MAP) and
  ``state_raw``, program; from ``ss -i``: cong_wnd (cwnd), bytes_in (bytes_received),
  bytes_out (bytes_sent or bytes_acked), rexmt (retrans total) and rto_ms, rtt_ms, mss,
  ssthresh, snd_wnd (when ss prints it), lastsnd/lastrcv/lastack_ms, unacked.
  stack stays null (these commands do not print it); snapshot_ts is the time of the last
  `date` output line above the row (``Mon Nov 23 17:41:57 UTC 2026`` or ISO 8601), as a
  capture loop ``date; ss -tan`` prints it, else null.
- ``stack_config`` (OpenVOS requests): name, value as printed, value_num (hex for
  set_longword, as the OpenVOS request takes it).

Grammar: grammars/netstat_peer.lark. Path: every row rule compiled from the grammar and run
vectorised (polars); sockets split by the grammar's socket rules, vectorised too.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import polars as pl

from zdiag.decode import lines_series
from zdiag.kinds import netstat_common as nc
from zdiag.kinds.base import UNMARKED, Accounting, Kind
from zdiag.kinds.registry import register
from zdiag.tables import STR

GRAMMAR = "netstat_peer"
LINE_RULES = ("inet_title", "unix_title", "inet_heading", "ss_heading", "unix_heading",
              "inet_row", "ss_row", "vos_request", "date_line", "iso_date_line")  # fmt: skip
LAYOUT_RULES = ("inet_title", "unix_title", "inet_heading", "ss_heading", "unix_heading")
SOCKET_RULES = ("socket_bracket", "socket_colon", "socket_dot")

#: ss -i keys → (column, unit handling): the first number of the value is taken
SS_INFO = {
    "cwnd": "cong_wnd", "bytes_received": "bytes_in", "bytes_sent": "bytes_out",
    "bytes_acked": "bytes_acked", "rto": "rto_ms", "rtt": "rtt_ms", "mss": "mss",
    "ssthresh": "ssthresh", "snd_wnd": "snd_wnd", "lastsnd": "lastsnd_ms",
    "lastrcv": "lastrcv_ms", "lastack": "lastack_ms", "unacked": "unacked",
    "rcv_space": "rcv_space", "segs_out": "segs_out", "segs_in": "segs_in",
}  # fmt: skip
_FLOAT_INFO = {"rto_ms", "rtt_ms"}


def _hits(s: pl.Series, todo: np.ndarray, rule: str) -> tuple[np.ndarray, pl.DataFrame]:
    return nc.match_rows(s, todo, GRAMMAR, rule)


def parse(lines: list[str], acct: Accounting) -> dict[str, pd.DataFrame]:
    return parse_chunk(lines, acct, {})[0]


def parse_chunk(lines, acct: Accounting, state: dict) -> tuple[dict[str, pd.DataFrame], dict]:
    """Parse one piece of a capture that the pipeline cut just before a title, heading or
    ``date`` line (:data:`CHUNK_AT`). ``state`` carries whether the piece starts inside a
    UNIX-domain socket section (``in_unix``) and the time of the last ``date`` line above
    it (``date_ts``). Returns the tables (lines numbered within the piece) and the state
    for the next piece."""
    s = lines_series(lines)
    m: dict[str, pd.DataFrame] = {}
    remaining = np.flatnonzero(acct.status == UNMARKED)
    # a UNIX-domain socket section runs from its title to the next Internet title
    unix_from, _ = _hits(s, remaining, "unix_title")
    inet_from, _ = _hits(s, remaining, "inet_title")
    if state.get("in_unix"):  # the section began in an earlier piece
        unix_from = np.r_[-1, unix_from].astype(np.int64)
    in_unix = _in_section(remaining, unix_from, inet_from)
    after = {"in_unix": bool(_in_section(np.array([len(lines)]), unix_from, inet_from)[0])}
    if in_unix.any():
        idx, _ = _hits(s, remaining[in_unix], "unix_row")
        acct.layout(idx)
        remaining = np.setdiff1d(remaining, idx, assume_unique=True)
    for rule in LINE_RULES:
        if not len(remaining):
            break
        idx, df = _hits(s, remaining, rule)
        if len(idx):
            m[rule] = df
            remaining = np.setdiff1d(remaining, idx, assume_unique=True)
    for rule in LAYOUT_RULES:
        if rule in m:
            acct.layout(m[rule]["idx"].to_numpy())

    tables: dict[str, pd.DataFrame] = {}
    rows = [m[r] for r in ("inet_row", "ss_row") if r in m]
    if rows:
        conns = _connections(rows)
        acct.parsed(conns["line"].to_numpy(dtype=np.int64) - 1)
        info = _ss_info(s, acct, conns)
        if info is not None:
            conns = info
        conns["snapshot_ts"] = _snapshot_ts(
            m, conns["line"].to_numpy(dtype=np.int64) - 1, state.get("date_ts")
        )
        tables["connections"] = conns
    after["date_ts"] = _snapshot_ts(m, np.array([len(lines)]), state.get("date_ts"))[0]
    for rule in ("date_line", "iso_date_line"):
        if rule in m:
            acct.parsed(m[rule]["idx"].to_numpy())
    if "vos_request" in m:
        tables["stack_config"] = _vos(m["vos_request"].to_pandas(use_pyarrow_extension_array=True))
        acct.parsed(m["vos_request"]["idx"].to_numpy())
    return tables, after


def _snapshot_ts(m: dict[str, pl.DataFrame], rows: np.ndarray, ts0=None) -> np.ndarray:
    """The time of the last `date` line above each row (NaT when none): a capture loop of
    `date; ss -tan` gives one snapshot_ts per iteration. ``ts0``: the time of the last one
    in an earlier piece of the file."""
    parts = []
    if ts0 is not None and not np.isnat(ts0):
        ts = pl.Series("ts", np.array([ts0], dtype="datetime64[us]"))
        parts.append(pl.DataFrame({"idx": pl.Series("idx", [-1], dtype=pl.Int64), "ts": ts}))
    if "date_line" in m:
        d = m["date_line"]
        text = d["year"] + " " + d["month"] + " " + d["day"] + " " + d["clock"]
        ts = text.str.to_datetime("%Y %b %d %H:%M:%S", strict=False, time_unit="us")
        parts.append(pl.DataFrame({"idx": d["idx"], "ts": ts}))
    if "iso_date_line" in m:
        d = m["iso_date_line"]
        stamp = d["iso_stamp"].str.slice(0, 19).str.replace("T", " ")
        ts = stamp.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, time_unit="us")
        parts.append(pl.DataFrame({"idx": d["idx"], "ts": ts}))
    out = np.full(len(rows), np.datetime64("NaT"), dtype="datetime64[us]")
    if not parts:
        return out
    marks = pl.concat(parts, how="vertical_relaxed").sort("idx")
    k = np.searchsorted(marks["idx"].to_numpy(), rows, side="right") - 1
    vals = marks["ts"].to_numpy().astype("datetime64[us]")
    return np.where(k >= 0, vals[np.clip(k, 0, None)], out)


def _in_section(idx: np.ndarray, opens: np.ndarray, closes: np.ndarray) -> np.ndarray:
    if not len(opens):
        return np.zeros(len(idx), dtype=bool)
    last_open = np.searchsorted(opens, idx, side="right") - 1
    last_close = np.searchsorted(closes, idx, side="right") - 1
    o = np.where(last_open >= 0, opens[np.clip(last_open, 0, None)], -1)
    c = np.where(last_close >= 0, closes[np.clip(last_close, 0, None)], -1) if len(closes) else -1
    return (o >= 0) & (o > c)


def _connections(rows: list[pl.DataFrame]) -> pd.DataFrame:
    df = pl.concat(rows, how="diagonal").sort("idx")
    n = df.height

    def col(name: str) -> pl.Series:
        return df[name] if name in df.columns else pl.Series([None] * n, dtype=pl.String)

    raw = pl.select(pl.coalesce(col("nt_state"), col("ss_state"))).to_series()
    cols: dict[str, pl.Series] = {"line": df["idx"] + 1}
    cols["proto"] = pl.select(pl.coalesce(col("proto"), col("netid"))).to_series()
    for side, name in (("local", "local"), ("remote", "foreign")):
        sp = nc.split_sockets_pl(col(name), GRAMMAR, SOCKET_RULES)
        cols[f"{side}_ip"] = sp["ip"]
        cols[f"{side}_port"] = sp["port"]
        cols[f"{side}_port_name"] = sp["port_name"]
    cols["state_raw"] = raw
    cols["state"] = nc.normalise_states_pl(raw)
    # a count too large for 64 bits (garbage, not a queue) is null, not a parser failure
    cols["send_q"] = df["send_q"].cast(pl.Int64, strict=False)
    cols["recv_q"] = df["recv_q"].cast(pl.Int64, strict=False)
    cols["program"] = col("program")
    out = nc.to_pandas(pl.DataFrame({k: v.alias(k) for k, v in cols.items()}))
    return nc.fill_schema(out, "connections")


def _ss_info(s: pl.Series, acct: Accounting, conns: pd.DataFrame) -> pd.DataFrame | None:
    """ss -i info lines: indented, right under an ss row (or another info line)."""
    remaining = np.flatnonzero(acct.status == UNMARKED)
    if not len(remaining):
        return None
    idx, df = _hits(s, remaining, "ss_info")
    if not len(idx):
        return None
    indented = _starts_blank(s, idx)
    row_idx = conns["line"].to_numpy(dtype=np.int64) - 1
    k = np.searchsorted(row_idx, idx, side="right") - 1
    # everything between the row and this line must be info lines too: row_idx[k] + 1 .. idx
    ok = indented & (k >= 0)
    idx, df, k = idx[ok], df.filter(pl.Series(ok)), k[ok]
    contiguous = np.zeros(len(idx), dtype=bool)
    if len(idx):
        prev_ok = np.r_[False, (np.diff(idx) == 1) & (np.diff(k) == 0)]
        first = idx == row_idx[k] + 1
        contiguous = _run(first, prev_ok)
    idx, df, k = idx[contiguous], df.filter(pl.Series(contiguous)), k[contiguous]
    if not len(idx):
        return None
    acct.parsed(idx)
    info = df["info"]
    vals = {}
    for key, colname in SS_INFO.items():
        pat = rf"(?:^|\s){re.escape(key)}:([0-9.]+)"
        v = info.str.extract(pat, 1).cast(pl.Float64, strict=False).to_numpy()
        vals[colname] = v
    retrans = info.str.extract(r"(?:^|\s)retrans:\d+/(\d+)", 1).cast(pl.Float64, strict=False)
    vals["rexmt"] = retrans.to_numpy()
    grouped = pd.DataFrame({"k": k, **vals}).groupby("k").first()
    out = conns.copy()
    for colname in list(SS_INFO.values()) + ["rexmt"]:
        v = pd.Series(np.nan, index=range(len(out)))
        v.iloc[grouped.index.to_numpy()] = grouped[colname].to_numpy()
        if colname in _FLOAT_INFO:
            out[colname] = pd.array(v, dtype="Float64")
        elif v.notna().any() or colname in ("cong_wnd", "bytes_in", "bytes_out", "rexmt"):
            out[colname] = pd.array(v.round(), dtype="Int64")
    if "bytes_acked" in out and "bytes_out" in out:
        out["bytes_out"] = out["bytes_out"].fillna(out["bytes_acked"])
    return out


def _run(first: np.ndarray, prev_ok: np.ndarray) -> np.ndarray:
    """True where a run that starts at a `first` line continues through `prev_ok` links."""
    starts = first | ~prev_ok
    run_id = np.cumsum(starts)
    start_is_first = np.zeros(run_id.max() + 1 if len(run_id) else 1, dtype=bool)
    start_is_first[run_id[starts]] = first[starts]
    return start_is_first[run_id]


def _starts_blank(s: pl.Series, idx: np.ndarray) -> np.ndarray:
    return s.gather(idx).str.contains(r"^[ \t]").fill_null(False).to_numpy()


def _vos(df: pd.DataFrame) -> pd.DataFrame:
    req = df["vos_request"].astype(STR)
    arg = df["arg"].astype(STR)
    hex_ok = arg.str.match(r"^[0-9A-Fa-f]+$").fillna(False) & (req == "set_longword")
    dec_ok = arg.str.match(r"^\d+$").fillna(False) & (req != "set_longword")
    hexval = pl.from_pandas(arg.where(hex_ok)).cast(pl.String)  # NA (not hex) → null
    num_hex = hexval.str.to_integer(base=16, strict=False).cast(pl.Float64).to_numpy()
    num_dec = pd.to_numeric(arg.where(dec_ok), errors="coerce").to_numpy(dtype=float)
    out = pd.DataFrame({"line": pd.array(df["idx"].to_numpy() + 1, dtype="Int64")})
    out["section"] = req.array
    out["name"] = df["param"].astype(STR).array
    out["value"] = arg.array
    out["value_num"] = pd.array(np.where(hex_ok, num_hex, num_dec), dtype="Float64")
    return out


_HEAD = re.compile(r"^\s*(?:Netid\s+)?(?:Proto|State)\s+Recv-Q\s+Send-Q\s")
_ROW = re.compile(r"^\s*(?:tcp|udp)[46]{0,2}\s+\d+\s+\d+\s+\S+[:.]\S+\s+\S+")
_SSROW = re.compile(r"^\s*(?:tcp\s+)?(?:ESTAB|LISTEN|CLOSE-WAIT|FIN-WAIT-[12]|TIME-WAIT|SYN-SENT|"
                    r"SYN-RECV|LAST-ACK|CLOSING|UNCONN)\s+\d+\s+\d+\s")  # fmt: skip
_VOS = re.compile(r"^\s*(?:set_longword|set_stcp_param(?:eter)?)\s+\S+\s+\S+\s*$")


#: where the stream may cut a large capture: an Internet title, a connection table heading
#: or a `date` output line (never between an ss row and its -i info lines)
CHUNK_AT = re.compile(
    rb"(?m)^[ \t]*(?:Active[ \t]+Internet[ \t]+connections|Proto[ \t]+Recv-Q[ \t]+Send-Q"
    rb"|(?:Netid[ \t]+)?State[ \t]+Recv-Q[ \t]+Send-Q"
    rb"|(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[ \t]+[A-Z][a-z][a-z][ \t]+\d)"
)


def detect(head: list[str]) -> float:
    score = 0.0
    for ln in head:
        if _HEAD.match(ln):
            return 0.85
        if _ROW.match(ln) or _SSROW.match(ln):
            score = max(score, 0.6)
        elif _VOS.match(ln):
            score = max(score, 0.6)
    return score


register(
    Kind(
        name="netstat.peer",
        description="netstat/ss of the peer systems: Linux netstat -tan[p], ss -tan[i], "
        "BSD/macOS netstat -an, OpenVOS STCP requests",
        tables=("connections", "stack_config"),
        detect=detect,
        parse=parse,
        grammar=GRAMMAR,
        samples=(
            "peers/linux_netstat_stuck_states_coolshell.txt",
            "peers/ss_tan_closewait_finwait2_lazyserver.txt",
        ),
        extra={
            "lines": "series",
            # large captures are cut before a title, heading or date line and parsed piece by
            # piece (memory stays bounded); see zdiag.stream
            "chunk_marker": CHUNK_AT,
            "parse_chunk": parse_chunk,
        },
        path="every row rule compiled from the grammar and run vectorised (polars); sockets "
        "split by the grammar's socket rules",
    )
)
