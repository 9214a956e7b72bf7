"""Kind ``netstat.zos``: TSO NETSTAT, z/OS UNIX netstat/onetstat and console D TCPIP,,NETSTAT.

Tables (every row carries ``stack``, ``release`` and ``snapshot_ts`` of the report title above
it; a file may hold many snapshots, e.g. a loop of NETSTAT every N seconds):
- ``connections``: COnn/ALLConn rows (SHORT, LONG and console forms) and ALL/BYTEINFO detail
  blocks. Every ``Label: value`` a block prints becomes a snake_case column (typed Int64 or
  Float64 when every value is a number; two-digit hex flag bytes stay text), so fields zdiag
  has never seen still arrive. Schema columns: user, conn_id, local/remote ip and port,
  ``state`` (RFC 793, netstat_common.STATE_MAP) and ``state_raw``, bytes_in/out, snd_wnd,
  max_snd_wnd, cong_wnd (CongestionWindow), rexmt (ReXmt), send_q/recv_q (SendDataQueued/
  ReceiveDataQueued when printed), smc, ttls, keepalive (see _derive).
- ``stack_config``: CONFIG pairs, one row per ``Label: value`` (name as printed).
- ``routes``: ROUTE IPv4 table rows and IPv6 ``DestIP:`` stanzas.
- ``interfaces``: DEVLINKS (modern ``DevName:``/``LnkName:``/``IntfName:`` stanzas and the
  legacy ``Device … Type: … Status:`` form) and HOME (``LinkName:``/``IntfName:`` + Address).
- ``arp``: ``Querying ARP cache for address …`` blocks.
- ``messages``: console title messages and netstat's own messages (EZZ2376I, EZZ2377I,
  EZZ2385I …), one row each, in the messages schema.

snapshot_ts: the title prints hh:mm:ss and no date. The date is 1900-01-01 (as for the packet
parsers when no date is printed) and rolls forward a day whenever a later title's clock is more
than 12 hours earlier than the one before (midnight passed in a loop); spans between snapshots
are therefore right. Console titles print no time: their snapshot_ts is null.

Grammar: grammars/netstat_zos.lark. Path: every line rule is compiled to one pattern and run
over all lines at once (polars); folding lines into snapshots and blocks uses searchsorted
over block starts, and the per-block fields are pivoted from a long frame (no per-row Python).
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import pandas as pd
import polars as pl

from zdiag.decode import lines_series
from zdiag.grammar import CutPoints, line_pattern, row_regex
from zdiag.kinds import netstat_common as nc
from zdiag.kinds.base import UNMARKED, Accounting, Kind, null_array
from zdiag.kinds.registry import register
from zdiag.tables import STR

GRAMMAR = "netstat_zos"

#: line rules in priority order (the first that matches a line wins)
LINE_RULES = (
    "title_line", "legacy_title", "console_title", "conn_heading", "ruler_line",
    "records_line", "end_line", "conn_row", "conn_long_row", "route_section",
    "route_heading", "route_row", "legacy_device", "legacy_link", "arp_query", "echo_line",
    "pair_line", "foreign_title",
)  # fmt: skip
#: matched on lines without a message ID only (a message's text may mention netstat)
NO_ID_RULES = ("echo_line",)
LAYOUT_RULES = {"conn_heading", "ruler_line", "records_line", "end_line", "route_heading",
                "foreign_title", "echo_line"}  # fmt: skip

#: a pair whose first label is one of these starts a new block: snake label → block type
BLOCK_START = {
    "client_name": "conn", "client": "conn",
    "dest_ip": "route",
    "dev_name": "iface", "lnk_name": "iface", "intf_name": "iface", "link_name": "iface",
}  # fmt: skip
#: a heading line (Label: with no value) that opens a CONFIG section / the HOME list
CONFIG_SECTION = re.compile(r"(?i)\b(?:table|configuration|config|parameters|settings?)\b")
HOME_SECTION = re.compile(r"(?i)home address")

#: connection field names → schema column (after snake_case)
CONN_ALIASES = {
    "client_name": "user", "client": "user", "user_id": "user", "client_id": "conn_id",
    "conn": "conn_id", "state": "state_raw", "congestion_window": "cong_wnd",
    "send_data_queued": "send_q", "receive_data_queued": "recv_q",
}  # fmt: skip
#: values that look numeric but are identifiers or hex flag bytes
CONN_TEXT = frozenset({"user", "conn_id", "state_raw", "local_socket", "foreign_socket",
                       "start_date", "start_time", "last_touched", "ds_field", "sock_opt",
                       "tcp_timer", "tcp_sig", "tcp_sel", "tcp_det", "tcp_pol", "tcp_prf"})  # fmt: skip
IFACE_ALIASES = {
    "dev_name": "name", "lnk_name": "name", "intf_name": "name", "link_name": "name",
    "dev_type": "type", "lnk_type": "type", "intf_type": "type",
    "dev_status": "status", "lnk_status": "status", "intf_status": "status",
}  # fmt: skip
ROUTE_ALIASES = {"dest_ip": "destination", "gw": "gateway", "intf": "interface",
                 "flgs": "flags"}  # fmt: skip
INACTIVE = {"", "NO", "INACTIVE", "N/A", "NONE", "DISABLED"}


def _series(lines: list[str]) -> pl.Series:
    return lines_series(lines)


def _bodies(s: pl.Series) -> tuple[pl.Series, np.ndarray]:
    """Split off a leading message ID; returns (bodies, msgid per line or None).

    Which lines carry an ID is decided by the grammar's ``msgid_prefix`` rule (a capture-free
    match); the ID is then the first 8 characters, as the MSGID terminal fixes its width."""
    has = s.str.contains(row_regex(GRAMMAR, "msgid_prefix")).fill_null(False)
    lead = s.str.strip_chars_start(" \t")
    msgid = pl.select(pl.when(has).then(lead.str.slice(0, 8))).to_series()
    body = pl.select(
        pl.when(has).then(lead.str.slice(8).str.strip_chars_start(" \t")).otherwise(s)
    ).to_series()
    return body, msgid.to_numpy()


def _match_rules(body: pl.Series, msgid: np.ndarray, acct: Accounting) -> dict[str, pl.DataFrame]:
    """Every line rule over the lines still unmarked; {rule: frame with `idx` + groups}.

    Which rule reads a line, and what it reads, depends only on the line's text (and on
    whether it carries a message ID): when texts repeat (snapshots of the same connections,
    zero counters, the same buffer sizes), each distinct text is matched once and the result
    handed to every line with that text."""
    out: dict[str, pl.DataFrame] = {}
    lines = np.flatnonzero(acct.status == UNMARKED)
    has_id = pd.notna(msgid)
    keys = pl.DataFrame({"text": body.gather(lines), "id": has_id[lines]})
    distinct = keys.unique(maintain_order=True)
    if distinct.height > 0.7 * keys.height:  # mostly distinct: not worth the join
        distinct, inverse = keys, np.arange(keys.height)
    else:
        inverse = (
            keys.join(
                distinct.with_row_index("code"),
                on=["text", "id"],
                how="left",
                maintain_order="left",
                nulls_equal=True,
            )  # fmt: skip
            .get_column("code")
            .to_numpy()
        )
    texts, text_id = distinct.get_column("text"), distinct.get_column("id").to_numpy()
    remaining = np.arange(distinct.height)
    for rule in LINE_RULES:
        todo = remaining if rule not in NO_ID_RULES else remaining[~text_id[remaining]]
        if not len(todo):
            continue
        idx, df = nc.match_rows(texts, todo, GRAMMAR, rule)
        if not len(idx):
            continue
        remaining = np.setdiff1d(remaining, idx, assume_unique=True)
        # back to the lines: each line with a matched text, in line order
        pos = np.full(distinct.height, -1, dtype=np.int64)
        pos[idx] = np.arange(len(idx))
        at = pos[inverse]
        sel = at >= 0
        rows = df.drop("idx")[at[sel]]
        out[rule] = rows.insert_column(0, pl.Series("idx", lines[sel], dtype=pl.Int64))
    return out


def _pd(df: pl.DataFrame) -> pd.DataFrame:
    return df.to_pandas(use_pyarrow_extension_array=True)


def _snapshots(m: dict[str, pl.DataFrame], carry: dict | None = None) -> pd.DataFrame:
    parts = []
    for rule in ("title_line", "legacy_title", "console_title"):
        if rule in m:
            df = _pd(m[rule])
            parts.append(
                pd.DataFrame(
                    {
                        "idx": df["idx"].to_numpy(),
                        "stack": df["stack"].astype(object) if "stack" in df else None,
                        "release": df["release"].astype(object),
                        "clock": df["clock"].astype(object) if "clock" in df else None,
                    }
                )
            )
    if not parts:
        return pd.DataFrame({"idx": np.array([], dtype=np.int64), "stack": [], "release": [],
                             "clock": [], "snapshot_ts": []})  # fmt: skip
    snaps = pd.concat(parts, ignore_index=True).sort_values("idx", kind="stable")
    snaps = snaps.reset_index(drop=True)
    clocks = snaps["clock"].where(snaps["clock"].notna(), None).tolist()
    snaps["snapshot_ts"] = _snapshot_times(clocks, carry or {})
    return snaps


def _snapshot_times(clocks: list, carry: dict) -> pd.Series:
    """nc.snapshot_times, continued from an earlier piece of the file: ``carry`` holds the
    last clock seen before this piece (``clock``) and the days rolled so far (``days``)."""
    clock0, days0 = carry.get("clock"), carry.get("days", 0)
    if clock0 is None and not days0:
        return nc.snapshot_times(clocks)
    ts = nc.snapshot_times([clock0, *clocks]).iloc[1:].reset_index(drop=True)
    return (ts + pd.Timedelta(days=days0)).astype("datetime64[us]")


def _carry_after(snaps: pd.DataFrame, carry: dict) -> dict:
    """The snapshot state after this piece: its last clock and the days rolled so far."""
    ts = snaps["snapshot_ts"] if len(snaps) else pd.Series([], dtype="datetime64[us]")
    ok = ts.notna().to_numpy()
    if not ok.any():
        return {"clock": carry.get("clock"), "days": carry.get("days", 0)}
    k = np.flatnonzero(ok)[-1]
    last = pd.Timestamp(ts.iloc[k])
    return {"clock": snaps["clock"].iloc[k],
            "days": int((last.normalize() - pd.Timestamp(nc.NO_DATE)).days)}  # fmt: skip


def _last_snapshot(snaps: pd.DataFrame) -> dict | None:
    """The snapshot the next piece's first lines belong to (until a title of its own), as
    a row above that piece (``idx`` -1)."""
    if not len(snaps):
        return None
    row = snaps.iloc[-1].to_dict()
    row["idx"] = -1
    return row


def _take(values: np.ndarray, k: np.ndarray) -> np.ndarray:
    """values[k] where k >= 0, else None (also when values is empty)."""
    if not len(values):
        return np.full(len(k), None, dtype=object)
    return np.where(k >= 0, values[np.clip(k, 0, None)], None)


def _snap_of(idx: np.ndarray, snaps: pd.DataFrame) -> np.ndarray:
    return np.searchsorted(snaps["idx"].to_numpy(), idx, side="right") - 1


def _stamp(df: pd.DataFrame, snap: np.ndarray, snaps: pd.DataFrame) -> None:
    """Add stack, release and snapshot_ts of each row's snapshot (in place)."""
    ok = snap >= 0
    k = np.clip(snap, 0, None)
    for col in ("stack", "release"):
        vals = snaps[col].to_numpy(dtype=object)[k] if len(snaps) else np.full(len(df), None)
        df[col] = pd.array(np.where(ok, vals, None), dtype=STR)
    if not len(snaps):
        df["snapshot_ts"] = pd.Series([pd.NaT] * len(df), dtype="datetime64[us]").array
        return
    ts = pd.Series(snaps["snapshot_ts"].to_numpy()[k], dtype="datetime64[us]")
    df["snapshot_ts"] = ts.where(pd.Series(ok)).astype("datetime64[us]").array


def _pairs_long(pairs: pl.DataFrame) -> pl.DataFrame:
    """(idx, pos, label, key, value) for every pair printed on a pair line."""
    a = pairs.select("idx", pl.lit(1).alias("pos"), pl.col("label1").cast(pl.String).alias("label"),
                     pl.col("value1").cast(pl.String).alias("value"))  # fmt: skip
    b = pairs.filter(pl.col("label2").is_not_null()).select(
        "idx", pl.lit(2).alias("pos"), pl.col("label2").cast(pl.String).alias("label"),
        pl.col("value2").cast(pl.String).alias("value"))  # fmt: skip
    c = pairs.filter(pl.col("label3").is_not_null()).select(
        "idx", pl.lit(3).alias("pos"), pl.col("label3").cast(pl.String).alias("label"),
        pl.col("value3").cast(pl.String).alias("value"))  # fmt: skip
    long = pl.concat([a, b, c]).sort(["idx", "pos"])
    uniq = long["label"].unique().to_list()
    mapping = {u: nc.snake(u) for u in uniq if u is not None}
    return long.with_columns(
        pl.col("label")
        .cast(pl.String)
        .replace_strict(mapping, default=None, return_dtype=pl.String)
        .alias("key")
    )


def parse(lines: list[str], acct: Accounting) -> dict[str, pd.DataFrame]:
    return parse_chunk(lines, acct, {})[0]


def parse_chunk(lines, acct: Accounting, state: dict) -> tuple[dict[str, pd.DataFrame], dict]:
    """Parse one piece of a report that the pipeline cut just before a title line, or
    inside a snapshot longer than a piece just before a connection (:data:`CUT_POINTS`; no
    block spans two pieces). ``state`` carries ``clock`` and ``days`` (the last snapshot
    clock before this piece and the days its date has rolled, see module doc) and ``snap``
    (that snapshot: its stack, release and time, for lines above this piece's first title).
    Returns the tables (lines numbered within the piece) and the state for the next piece.
    """
    s = _series(lines)
    body, msgid = _bodies(s)
    m = _match_rules(body, msgid, acct)
    for rule in LAYOUT_RULES & set(m):
        acct.layout(m[rule]["idx"].to_numpy())
    snaps = _snapshots(m, state)
    carry = _carry_after(snaps, state)
    titles = snaps
    if state.get("snap") is not None:  # cut inside a snapshot: its title is in a piece before
        head = pd.DataFrame([state["snap"]])
        snaps = pd.concat([head, snaps], ignore_index=True) if len(snaps) else head
        snaps["snapshot_ts"] = pd.to_datetime(snaps["snapshot_ts"]).astype("datetime64[us]")
    carry["snap"] = _last_snapshot(snaps)
    for rule in ("title_line", "legacy_title", "console_title"):
        if rule in m:
            acct.parsed(m[rule]["idx"].to_numpy())

    # ---- blocks: every line that opens a connection / route / interface / arp / config ----
    starts: list[pd.DataFrame] = []  # idx, btype, section
    fields: list[pl.DataFrame] = []  # idx (of the block start), key, value, from rows

    def add_start(idx, btype, section=None):
        starts.append(pd.DataFrame({"idx": np.asarray(idx, dtype=np.int64), "btype": btype,
                                    "section": section}))  # fmt: skip

    def add_fields(frame: pl.DataFrame, cols: dict[str, str]):
        """Fields a row rule prints itself, kept wide (one column per field)."""
        have = [c for c in cols if c in frame.columns]
        fields.append(
            frame.select("idx", *[pl.col(c).cast(pl.String).alias(cols[c]) for c in have])
        )

    for rule in ("conn_row", "conn_long_row"):
        if rule in m:
            df = m[rule]
            add_start(df["idx"].to_numpy(), "conn")
            add_fields(df, {"user": "user", "conn_id": "conn_id",
                                       "local_socket": "local_socket",
                                       "foreign_socket": "foreign_socket",
                                       "state": "state_raw"})  # fmt: skip
            acct.parsed(df["idx"].to_numpy())
    for rule, kind in (("legacy_device", "device"), ("legacy_link", "link")):
        if rule in m:
            df = m[rule].with_columns(pl.lit(kind).alias("kind"))
            add_start(df["idx"].to_numpy(), "iface")
            add_fields(df, {"kind": "kind", "name": "name", "type": "type",
                                       "status": "status", "net_number": "net_number"})  # fmt: skip
            acct.parsed(df["idx"].to_numpy())
    if "arp_query" in m:
        df = m["arp_query"]
        add_start(df["idx"].to_numpy(), "arp")
        add_fields(df, {"ip": "ip"})
        acct.parsed(df["idx"].to_numpy())
    if "route_section" in m:
        df = m["route_section"]
        add_start(df["idx"].to_numpy(), "route_section", df["ip_version"].to_numpy())
        acct.layout(df["idx"].to_numpy())
    for rule in ("conn_heading", "route_heading"):
        if rule in m:  # a heading closes the block above it
            add_start(m[rule]["idx"].to_numpy(), "none")

    pairs = m.get("pair_line")
    long = pl.DataFrame(schema={"idx": pl.Int64, "pos": pl.Int32, "label": pl.String,
                                "value": pl.String, "key": pl.String})  # fmt: skip
    if pairs is not None:
        sect = (pairs["value1"].is_null() & pairs["label2"].is_null()).to_numpy()
        heads = _pd(pairs.filter(pl.Series(sect)))
        labels = heads["label1"].astype(object)
        is_cfg = labels.str.contains(CONFIG_SECTION).fillna(False).to_numpy(dtype=bool)
        is_home = labels.str.contains(HOME_SECTION).fillna(False).to_numpy(dtype=bool)
        add_start(heads["idx"].to_numpy()[is_cfg], "config", labels.to_numpy()[is_cfg])
        add_start(heads["idx"].to_numpy()[is_home], "home")
        acct.layout(heads["idx"].to_numpy())  # section and sub-section headings
        long = _pairs_long(pairs.filter(pl.Series(~sect)))
        first = long.filter(pl.col("pos") == 1).with_columns(
            pl.col("key")
            .cast(pl.String)
            .replace_strict(BLOCK_START, default=None, return_dtype=pl.String)
            .alias("bt")
        )
        opening = first.filter(pl.col("bt").is_not_null())
        add_start(opening["idx"].to_numpy(), opening["bt"].to_numpy())
    # title lines close blocks too (a block never spans snapshots)
    if len(titles):
        add_start(titles["idx"], "none")

    blocks = (pd.concat(starts, ignore_index=True) if starts else
              pd.DataFrame({"idx": np.array([], dtype=np.int64), "btype": [], "section": []}))  # fmt: skip
    blocks = blocks.sort_values("idx", kind="stable").drop_duplicates("idx", keep="first")
    blocks = blocks.reset_index(drop=True)
    b_idx = blocks["idx"].to_numpy(dtype=np.int64)
    b_type = blocks["btype"].to_numpy(dtype=object)

    # route sections give the IP version of the rows/stanzas below them (until a title)
    rs = blocks[blocks["btype"].isin(["route_section", "none"])]

    def ip_version_at(idx: np.ndarray) -> np.ndarray:
        k = np.searchsorted(rs["idx"].to_numpy(), idx, side="right") - 1
        sec = rs["section"].to_numpy(dtype=object)
        v = pd.Series(_take(sec, k))
        return v.map({"IPv4": 4, "IPv6": 6}).to_numpy(dtype=object)

    # ---- pair lines → the block they belong to ------------------------------------------
    msgs_extra: list[int] = []
    if len(long):
        k = np.searchsorted(b_idx, long["idx"].to_numpy(), side="right") - 1
        long = long.with_columns(pl.Series("block", k, dtype=pl.Int64),
                                 pl.Series("btype", _take(b_type, k).tolist(), dtype=pl.String))  # fmt: skip
        ok = pl.col("btype").is_in(["conn", "config", "iface", "route", "arp"]).fill_null(False)
        line_ok = long.group_by("idx").agg(ok.all().alias("ok"))
        good = np.sort(line_ok.filter(pl.col("ok"))["idx"].to_numpy())
        bad = np.sort(line_ok.filter(~pl.col("ok"))["idx"].to_numpy())
        acct.parsed(good)
        bad_msg = bad[pd.notna(msgid[bad])] if len(bad) else bad
        bad_other = np.setdiff1d(bad, bad_msg)
        msgs_extra = list(bad_msg)
        if len(bad_other):
            acct.unrecognised(bad_other, "Label: value line outside any NETSTAT block "
                              "(no connection, CONFIG, ROUTE, DEVLINKS or ARP heading above)")  # fmt: skip
        long = long.filter(pl.col("idx").is_in(good))

    fields = _attach(fields, blocks)
    tables: dict[str, pd.DataFrame] = {}
    conns = _connections(long, fields, blocks, snaps, b_idx)
    if conns is not None:
        tables["connections"] = conns
    cfg = _stack_config(long, blocks, snaps)
    if cfg is not None:
        tables["stack_config"] = cfg
    rrows = _pd(m["route_row"]) if "route_row" in m else None
    routes = _routes(rrows, long, fields, blocks, snaps, ip_version_at, acct)
    if routes is not None:
        tables["routes"] = routes
    ifs = _wide(long, fields, blocks, "iface", IFACE_ALIASES)
    if ifs is not None:
        ifs = _finish_ifaces(ifs, snaps)
        tables["interfaces"] = ifs
    arp = _wide(long, fields, blocks, "arp", {"link": "interface"})
    if arp is not None:
        tables["arp"] = _finish_arp(arp, snaps)

    # ---- messages: console titles with an ID, and netstat's own messages ----------------
    rest = np.flatnonzero(acct.status == UNMARKED)
    msg_idx = rest[pd.notna(msgid[rest])] if len(rest) else rest
    if "console_title" in m:
        ct = m["console_title"]["idx"].to_numpy()
        msg_idx = np.union1d(msg_idx, ct[pd.notna(msgid[ct])])
    msg_idx = np.union1d(msg_idx, np.asarray(msgs_extra, dtype=np.int64)).astype(np.int64)
    if len(msg_idx):
        acct.parsed(msg_idx)
        tables["messages"] = _messages(msg_idx, msgid, body, snaps)
    return tables, carry


def _attach(fields: list[pl.DataFrame], blocks: pd.DataFrame) -> pl.DataFrame | None:
    """Row-derived fields (wide) with the block, and its type, each row opens."""
    if not fields:
        return None
    f = pl.concat(fields, how="diagonal")
    pos = np.searchsorted(blocks["idx"].to_numpy(dtype=np.int64), f["idx"].to_numpy())
    types = pl.Series(blocks["btype"].tolist(), dtype=pl.String)
    return f.with_columns(pl.Series("block", pos, dtype=pl.Int64), types.gather(pos).alias("btype"))


def _wide_pl(long, fields, blocks, btype, aliases) -> pl.DataFrame | None:
    """One row per block of this type: the fields its row printed, then one string column
    per `Label: value` field (first seen order)."""
    parts = []
    rows = None
    if fields is not None and len(fields):
        rows = fields.filter(pl.col("btype") == btype).drop("idx", "btype")
        rows = rows.select([c for c in rows.columns if rows[c].null_count() < rows.height])
        rows = rows if rows.height else None
    if len(long):
        lf = long.filter(pl.col("btype") == btype).select("block", "key", "value")
        if len(lf):
            lf = lf.with_columns(pl.col("key").replace(aliases))
            order = lf["key"].unique(maintain_order=True).to_list()
            lf = lf.unique(subset=["block", "key"], keep="first", maintain_order=True)
            piv = lf.pivot(on="key", index="block", values="value", aggregate_function=None)
            parts.append(piv.select("block", *order))
    if rows is None and not parts:
        return None
    if rows is None:
        wide = parts[0]
    elif not parts:
        wide = rows
    else:
        piv = parts[0]
        both = [c for c in piv.columns if c in rows.columns and c != "block"]
        wide = rows.join(piv, on="block", how="full", coalesce=True, suffix="__p")
        wide = wide.with_columns([pl.coalesce(c, f"{c}__p").alias(c) for c in both]).drop(
            [f"{c}__p" for c in both]
        )
    wide = wide.sort("block")
    lines = blocks["idx"].to_numpy(dtype=np.int64)[wide["block"].to_numpy()] + 1
    return wide.with_columns(pl.Series("line", lines, dtype=pl.Int64))


def _wide(long, fields, blocks, btype, aliases) -> pd.DataFrame | None:
    wide = _wide_pl(long, fields, blocks, btype, aliases)
    return None if wide is None else nc.to_pandas(wide)


def _stamp_pl(idx: np.ndarray, snaps: pd.DataFrame) -> dict[str, pl.Series]:
    """stack, release, snapshot_ts of each line's snapshot, as polars columns."""
    n = len(idx)
    if not len(snaps):
        return {
            "stack": pl.Series("stack", [None] * n, dtype=pl.String),
            "release": pl.Series("release", [None] * n, dtype=pl.String),
            "snapshot_ts": pl.Series("snapshot_ts", [None] * n, dtype=pl.Datetime("us")),
        }
    snap = _snap_of(idx, snaps)
    ok = pl.Series(snap >= 0)
    k = pl.Series(np.clip(snap, 0, None))
    sp = pl.DataFrame(
        {
            "stack": pl.Series(snaps["stack"].tolist(), dtype=pl.String),
            "release": pl.Series(snaps["release"].tolist(), dtype=pl.String),
            "snapshot_ts": pl.Series(snaps["snapshot_ts"].to_numpy()).cast(pl.Datetime("us")),
        }
    )
    taken = sp[k]
    return {c: pl.select(pl.when(ok).then(taken[c])).to_series().alias(c) for c in sp.columns}


def _connections(long, fields, blocks, snaps, b_idx) -> pd.DataFrame | None:
    wide = _wide_pl(long, fields, blocks, "conn", CONN_ALIASES)
    if wide is None:
        return None
    n = wide.height
    cols: dict[str, pl.Series] = {"line": wide["line"]}
    cols.update(_stamp_pl(wide["line"].to_numpy() - 1, snaps))
    nulls = pl.Series([None] * n, dtype=pl.String)
    for side, col in (("local", "local_socket"), ("remote", "foreign_socket")):
        tok = wide[col] if col in wide.columns else nulls
        sp = nc.split_sockets_pl(tok, GRAMMAR, ("socket",))
        cols[f"{side}_ip"] = sp["ip"]
        cols[f"{side}_port"] = sp["port"]
        cols[f"{side}_port_name"] = sp["port_name"]
    raw = wide["state_raw"] if "state_raw" in wide.columns else nulls
    cols["state_raw"] = raw
    cols["state"] = nc.normalise_states_pl(raw)
    for col in wide.columns:
        if col in ("block", "line", "state_raw") or col in cols:
            continue
        cols[col] = nc.typed_pl(wide[col], CONN_TEXT, col)
    out = nc.to_pandas(pl.DataFrame({k: v.alias(k) for k, v in cols.items()}))
    _derive(out)
    return nc.fill_schema(out, "connections")


def _first_of(df: pd.DataFrame, cols: list[str]) -> pd.Series:
    res = pd.Series(null_array(STR, len(df)))
    for c in cols:
        res = res.fillna(df[c].astype(STR))
    return res


def _derive(out: pd.DataFrame) -> None:
    """smc, ttls, keepalive and start_ts from whichever detail fields the block printed.

    - smc: the value of the first ``smc…status`` field that is not inactive ("" when the
      block has SMC fields but none is active; null when it prints none).
    - ttls: the first of ttls_policy, ttls_conn_status, ttls fields, as printed.
    - keepalive: the first field whose name contains ``keep_alive``/``keepalive``.
    - start_ts: StartDate (mm/dd/yyyy) + StartTime."""
    smc_cols = [c for c in out.columns if c.startswith("smc") and "status" in c]
    if smc_cols:
        vals = pd.DataFrame({c: out[c].astype(STR) for c in smc_cols})
        active = vals.copy()
        for c in smc_cols:  # a handful of columns, never rows
            active[c] = vals[c].mask(vals[c].fillna("").str.upper().isin(INACTIVE))
        smc = _first_of(active, smc_cols)
        has_any = vals.notna().any(axis=1).to_numpy()
        out["smc"] = pd.array(np.where(smc.notna(), smc.astype(object), np.where(has_any, "", None)),
                              dtype=STR)  # fmt: skip
    ttls_cols = [c for c in ("ttls_policy", "ttls_conn_status", "ttls") if c in out.columns]
    if ttls_cols:
        out["ttls"] = _first_of(out, ttls_cols).to_numpy()
    ka = [c for c in out.columns if ("keep_alive" in c or "keepalive" in c) and c != "keepalive"]
    if ka:
        out["keepalive"] = _first_of(out, ka).to_numpy()
    if "start_date" in out.columns:
        t = out["start_time"].astype(STR).fillna("00:00:00") if "start_time" in out else "00:00:00"
        out["start_ts"] = pd.to_datetime(out["start_date"].astype(STR) + " " + t,
                                         format="%m/%d/%Y %H:%M:%S", errors="coerce"
                                         ).astype("datetime64[us]")  # fmt: skip


def _stack_config(long, blocks, snaps) -> pd.DataFrame | None:
    if not len(long):
        return None
    sel = _pd(long.filter(pl.col("btype") == "config"))
    if not len(sel):
        return None
    sec = blocks["section"].to_numpy(dtype=object)[sel["block"].to_numpy()]
    val = sel["value"].astype(STR).reset_index(drop=True)
    num = pd.to_numeric(val.where(val.str.match(r"^[+-]?\d+(?:\.\d+)?$").fillna(False)),
                        errors="coerce")  # fmt: skip
    out = pd.DataFrame({"line": pd.array(sel["idx"].to_numpy() + 1, dtype="Int64")})
    _stamp(out, _snap_of(sel["idx"].to_numpy(), snaps), snaps)
    out["section"] = pd.array(sec, dtype=STR)
    out["name"] = pd.array(sel["label"].to_numpy(dtype=object), dtype=STR)
    out["value"] = val.to_numpy()
    out["value_num"] = pd.array(num.to_numpy(), dtype="Float64")
    return out


def _routes(rows, long, fields, blocks, snaps, ip_version_at, acct) -> pd.DataFrame | None:
    parts = []
    if rows is not None and len(rows):
        idx = rows["idx"].to_numpy()
        df = pd.DataFrame({"line": pd.array(idx + 1, dtype="Int64")})
        _stamp(df, _snap_of(idx, snaps), snaps)
        v = ip_version_at(idx)
        df["ip_version"] = pd.array(pd.Series(v).fillna(4), dtype="Int64")
        df["destination"] = rows["destination"].astype(object).to_numpy()
        df["gateway"] = rows["gateway"].astype(object).to_numpy()
        df["flags"] = rows["flags"].astype(object).to_numpy()
        df["refcnt"] = pd.to_numeric(rows["refcnt"].astype(object), errors="coerce").to_numpy()
        df["interface"] = rows["interface"].astype(object).to_numpy()
        if "mtu" in rows:
            df["mtu"] = pd.to_numeric(rows["mtu"].astype(object), errors="coerce").to_numpy()
        parts.append(df)
        acct.parsed(idx)
    wide = _wide(long, fields, blocks, "route", ROUTE_ALIASES)
    if wide is not None:
        idx = wide["line"].to_numpy() - 1
        df = pd.DataFrame({"line": pd.array(idx + 1, dtype="Int64")})
        _stamp(df, _snap_of(idx, snaps), snaps)
        v = ip_version_at(idx)
        df["ip_version"] = pd.array(pd.Series(v).fillna(6), dtype="Int64")
        for col in wide.columns:
            if col not in ("block", "line"):
                df[col] = nc.typed(wide[col].reset_index(drop=True), frozenset({"flags"}),
                                   col).array  # fmt: skip
        parts.append(df)
    if not parts:
        return None
    out = pd.concat(parts, ignore_index=True).sort_values("line", kind="stable")
    for col in ("destination", "gateway"):
        if col in out:
            out[col] = nc.canonical_ips(out[col]).to_numpy()
    return out.reset_index(drop=True)


def _finish_ifaces(wide: pd.DataFrame, snaps) -> pd.DataFrame:
    idx = wide["line"].to_numpy() - 1
    out = pd.DataFrame({"line": pd.array(idx + 1, dtype="Int64")})
    _stamp(out, _snap_of(idx, snaps), snaps)
    for col in wide.columns:
        if col not in ("block", "line"):
            keep = frozenset({"name", "type", "status", "address", "kind"})
            out[col] = nc.typed(wide[col].reset_index(drop=True), keep, col).array
    # HOME prints `Address: <ip>`; legacy DEVLINKS prints `Address: 0580` (device number)
    if "address" in out:
        ip = nc.canonical_ips(out["address"])
        is_ip = ip.astype(object) != out["address"].astype(object)
        is_ip |= out["address"].astype(STR).str.contains(r"^[\d.]+$|:", regex=True).fillna(False)
        is_ip &= ~out["address"].astype(STR).str.match(r"^[0-9A-Fa-f]{4}$").fillna(False)
        out["ip"] = pd.array(np.where(is_ip, ip.astype(object), None), dtype=STR)
    if "kind" not in out:
        out["kind"] = pd.NA
    return out


def _finish_arp(wide: pd.DataFrame, snaps) -> pd.DataFrame:
    idx = wide["line"].to_numpy() - 1
    out = pd.DataFrame({"line": pd.array(idx + 1, dtype="Int64")})
    _stamp(out, _snap_of(idx, snaps), snaps)
    for col in wide.columns:
        if col not in ("block", "line"):
            out[col] = wide[col].astype(STR).to_numpy()
    if "ip" in out:
        out["ip"] = nc.canonical_ips(out["ip"]).to_numpy()
    # the hardware address is printed under its link type's label (ETHERNET: …, IBMTR: …)
    mac_cols = [c for c in out.columns if c not in ("line", "stack", "snapshot_ts", "ip",
                                                    "interface")]  # fmt: skip
    mac = pd.Series(null_array(STR, len(out)))
    hw = pd.Series(null_array(STR, len(out)))
    for c in mac_cols:
        v = out[c].astype(STR)
        is_mac = v.str.match(r"^[0-9A-Fa-f]{12}$|^(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$")
        take = is_mac.fillna(False) & mac.isna()
        mac = mac.mask(take, v)
        hw = hw.mask(take, c)
    out["mac"] = mac.to_numpy()
    out["hw_type"] = hw.to_numpy()
    return out


def _messages(idx: np.ndarray, msgid: np.ndarray, body: pl.Series, snaps) -> pd.DataFrame:
    ids = msgid[idx].astype(object)
    text = body.gather(idx).to_numpy().astype(object)
    out = pd.DataFrame({"line": pd.array(idx + 1, dtype="Int64")})
    _stamp(out, _snap_of(idx, snaps), snaps)
    out["ts"] = out.pop("snapshot_ts")
    out["host"] = null_array(STR, len(idx))
    out["job"] = out["stack"]
    out["msg_id"] = pd.array(ids, dtype=STR)
    out["prefix"] = out["msg_id"].str.slice(0, 3)
    out["severity"] = out["msg_id"].str.slice(-1)
    # text as displayed, id included, as the syslog kinds keep it
    out["text"] = (out["msg_id"] + " " + pd.array(text, dtype=STR)).str.strip()
    return out.drop(columns=["stack", "release"])


#: where the stream may cut a large report: a title line (grammar title_line, optionally
#: after its message ID) that starts a snapshot
CHUNK_AT = re.compile(
    rb"(?m)^[ \t]*(?:EZ[ZDAB]\d{4}[IEWAD][ \t]+)?MVS TCP/IP NETSTAT CS V\d+R\d+(?:\.\d+)?"
    rb"[ \t]+TCPIP Name:[ \t]*[A-Za-z@#$][A-Za-z0-9@#$]{0,7}[ \t]+\d{1,2}:\d\d:\d\d[ \t]*\r?$"
)


#: where :mod:`zdiag.stream` may cut a large report: before a snapshot's title line
#: (:data:`CHUNK_AT`), and where no title follows in the rest of the buffer (one snapshot of
#: a busy stack runs on for many MB), before a connection: a NETSTAT ALL block's ``Client
#: Name:`` line (the block start of :data:`BLOCK_START`) or a connection row (the grammar's
#: ``conn_row``); :func:`parse_chunk` carries the snapshot over such a cut
CUT_POINTS = CutPoints(
    CHUNK_AT,
    re.compile(rb"(?m)^[ \t]*(?:EZ[ZDAB]\d{4}[IEWAD][ \t]+)?Client(?:[ \t]+Name)?[ \t]*:"),
    cache(lambda: line_pattern(GRAMMAR, "conn_row")),
)


_TITLE = re.compile(r"MVS TCP/IP NETSTAT CS V\d+R\d+\s+TCPIP Name:\s*\S+\s+\d{1,2}:\d\d:\d\d")
_CONSOLE = re.compile(r"^\s*EZ[ZD]\d{4}I\s+NETSTAT CS V\d+R\d+")
_LEGACY = re.compile(r"^\s*MVS TCP/IP Netstat V\d+R\d+")
_ERRORS = re.compile(r"^\s*EZZ23[0-9]{2}I\s")


def detect(head: list[str]) -> float:
    score = 0.0
    for ln in head:
        if _TITLE.search(ln):
            return 0.95
        if _CONSOLE.match(ln) or _LEGACY.match(ln):
            score = max(score, 0.9)
        elif _ERRORS.match(ln):
            score = max(score, 0.5)
    return score


register(
    Kind(
        name="netstat.zos",
        description="z/OS TSO NETSTAT, UNIX netstat/onetstat and D TCPIP,,NETSTAT: COnn/ALLConn "
        "(short, long), ALL/BYTEINFO blocks, CONFIG, ROUTE, HOME, DEVLINKS, ARP; many snapshots",
        tables=("connections", "stack_config", "routes", "arp", "interfaces", "messages"),
        detect=detect,
        parse=parse,
        grammar=GRAMMAR,
        samples=(
            "netstat/uss_netstat_conn_short_v2r5_wmlz.txt",
            "netstat/tso_netstat_all_msgid_ttls_v2r4_partial.txt",
        ),
        extra={
            "lines": "series",
            # large files are cut before a snapshot's title line and parsed piece by piece
            # (memory stays bounded); see zdiag.stream
            "chunk_marker": CUT_POINTS,
            "parse_chunk": parse_chunk,
        },
        path="every line rule compiled from the grammar and run vectorised (polars); blocks by "
        "searchsorted over block starts; detail fields pivoted from a long frame",
    )
)
