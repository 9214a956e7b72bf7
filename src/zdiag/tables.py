"""Table schemas (names, column order, dtypes) and the TableSet that carries them.

Every table starts with the provenance columns ``case``, ``source``, ``line``. Dtypes are
pandas' nullable ones (Arrow-backed strings): a missing value is ``<NA>``, never a sentinel.
Parsers may add columns beyond the schema (the netstat ALL report prints many); those come
after the schema's columns, in the order first seen.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache

import pandas as pd

STR = pd.StringDtype("pyarrow")
INT = "Int64"
FLOAT = "Float64"
BOOL = "boolean"
TS = "datetime64[us]"
OBJ = "object"

PROVENANCE = {"case": STR, "source": STR, "line": INT}

FLAG_CLASSES = (
    "packets", "untraced", "inorder", "ack", "data_ack", "dupack", "winupdate", "zerowin",
    "probe", "keepalive", "retrans", "ooo", "delayed_ack", "fragment", "dropped",
)  # fmt: skip

ANALYSIS_CLASSES = (
    "retransmission", "fast_retransmission", "spurious_retransmission", "dup_ack",
    "zero_window", "zero_window_probe", "zero_window_probe_ack", "window_update",
    "window_full", "keepalive", "keepalive_ack", "out_of_order",
    "previous_segment_not_captured", "ack_lost_segment",
)  # fmt: skip


def _sessions() -> dict:
    cols = {
        "conn": STR, "local_ip": STR, "local_port": INT, "remote_ip": STR, "remote_port": INT,
        "application": STR, "role_local": STR, "role_remote": STR,
        "link_speed_local": FLOAT, "link_speed_remote": FLOAT, "link_speed_unit": STR,
        "first_ts": TS, "last_ts": TS,
    }  # fmt: skip
    for cls in FLAG_CLASSES:
        cols[f"{cls}_local"] = INT
        cols[f"{cls}_remote"] = INT
    return cols


SCHEMAS: dict[str, dict[str, object]] = {
    "files": {
        "case": STR, "source": STR, "kind": STR, "encoding": STR, "lines": INT, "parsed": INT,
        "layout": INT, "unrecognised": INT, "bytes": INT, "sha256": STR, "seconds": FLOAT,
        "error": STR, "error_line": INT, "notes": STR,
    },
    "unrecognised": {**PROVENANCE, "text": STR, "reason": STR},
    "sessions": {**PROVENANCE, **_sessions()},
    "packets": {
        **PROVENANCE,
        "conn": STR, "nr": INT, "ts": TS, "time": STR, "delta_s": FLOAT, "direction": STR,
        "protocol": STR,
        "syn": BOOL, "ack": BOOL, "psh": BOOL, "fin": BOOL, "rst": BOOL, "urg": BOOL,
        "tcp_flags": STR, "seq": INT, "ack_num": INT, "window": INT, "data_len": INT,
        "ip_id": INT, "src_ip": STR, "src_port": INT, "dst_ip": STR, "dst_port": INT,
        "local_ip": STR, "local_port": INT, "remote_ip": STR, "remote_port": INT,
        "ibm_flag": STR,
    },
    "trace_stats": {
        **PROVENANCE,
        "report": STR, "name": STR, "value": INT, "key": STR, "total": INT,
        "input_count": INT, "input_bytes": INT, "output_count": INT, "output_bytes": INT,
        "first_nr": INT, "first_ts": TS, "last_nr": INT, "last_ts": TS,
    },
    "streams": {
        **PROVENANCE,
        "stream": STR, "protocol": STR, "ip_a": STR, "port_a": INT, "ip_b": STR, "port_b": INT,
        "first_ts": TS, "last_ts": TS, "packets": INT,
    },
    "data_trace": {
        **PROVENANCE,
        "nr": INT, "ts": TS, "time": STR, "direction": STR, "job": STR, "cid": STR,
        "domain": STR, "socket_type": STR, "protocol": STR, "state": STR, "segment": INT,
        "traced_len": INT, "truncated": BOOL,
    },
    "connections": {
        **PROVENANCE,
        "stack": STR, "release": STR, "snapshot_ts": TS, "user": STR, "conn_id": STR,
        "local_ip": STR, "local_port": INT, "remote_ip": STR, "remote_port": INT,
        "state": STR, "state_raw": STR, "send_q": INT, "recv_q": INT,
        "bytes_in": INT, "bytes_out": INT, "snd_wnd": INT, "max_snd_wnd": INT,
        "cong_wnd": INT, "rexmt": INT, "smc": STR, "ttls": STR, "keepalive": STR,
        "proto": STR, "program": STR, "start_ts": TS, "dup_acks": INT,
    },
    "messages": {
        **PROVENANCE,
        "ts": TS, "host": STR, "job": STR, "msg_id": STR, "prefix": STR, "severity": STR,
        "text": STR,
        # typed template fields (grammars/messages/templates.yaml) and trmdstat events
        "layout": STR, "template": STR, "event_ts": TS, "event": STR,
        "totalconn": INT, "stalledpct": INT, "smallwinpct": INT, "writeblkpct": INT,
        "duration_s": FLOAT, "action": STR, "correlator": INT, "probeid": STR,
        "sensorhostname": STR, "connid": STR, "jobname": STR,
        "local_ip": STR, "local_port": INT, "remote_ip": STR, "remote_port": INT,
        "rc": INT, "count": INT,
    },
    "config": {
        **PROVENANCE,
        "kind": STR, "block": STR, "statement": STR, "value": STR, "value_num": FLOAT,
        "unit": STR, "note": STR, "target": STR,
    },
    "stack_config": {
        **PROVENANCE,
        "stack": STR, "release": STR, "snapshot_ts": TS, "section": STR, "name": STR,
        "value": STR, "value_num": FLOAT,
    },
    "routes": {
        **PROVENANCE,
        "stack": STR, "release": STR, "snapshot_ts": TS, "ip_version": INT, "destination": STR,
        "gateway": STR, "flags": STR, "refcnt": INT, "interface": STR, "mtu": INT,
    },
    "arp": {
        **PROVENANCE,
        "stack": STR, "release": STR, "snapshot_ts": TS, "ip": STR, "mac": STR, "interface": STR,
        "hw_type": STR,
    },
    "interfaces": {
        **PROVENANCE,
        "stack": STR, "release": STR, "snapshot_ts": TS, "name": STR, "ip": STR, "type": STR,
        "status": STR,
        "kind": STR,
    },
    "findings": {
        "rule_id": STR, "level": STR, "title": STR, "case": STR, "source": STR, "line": INT,
        "lines": OBJ, "key": STR, "message": STR, "remedy": STR, "references": OBJ,
        "evidence": OBJ, "first_ts": TS, "last_ts": TS,
    },
}  # fmt: skip

# packets carry zdiag's own analysis once analysis/tcp.py has run (issue 8); the columns
# are listed here so that rules can be linted against them.
PACKET_ANALYSIS_COLUMNS = {
    **{c: BOOL for c in ANALYSIS_CLASSES},
    "reset": BOOL,  # the RST class ("rst" in `analysis`; the `rst` column is the raw flag)
    "dup_ack_num": INT,
    "missing_segments_est": INT,
    "analysis": STR,
}


def _conn_analysis() -> dict:
    cols = {
        **PROVENANCE, "conn": STR, "local_ip": STR, "local_port": INT, "remote_ip": STR,
        "remote_port": INT,
    }  # fmt: skip
    for c in ("packets", "bytes", *ANALYSIS_CLASSES, "rst"):
        cols[f"{c}_local"] = INT
        cols[f"{c}_remote"] = INT
    cols.update({
        "first_ts": TS, "last_ts": TS, "duration_s": FLOAT, "longest_idle_s": FLOAT,
        "longest_idle_before_nr": INT, "longest_idle_before_line": INT,
        "handshake_rtt_s": FLOAT, "first_rst_by": STR, "first_fin_by": STR,
        "final_state": STR,
    })  # fmt: skip
    return cols


# zdiag's own TCP analysis per connection, and its comparison with the IBM letters (issue 8)
SCHEMAS["conn_analysis"] = _conn_analysis()
SCHEMAS["ibm_disagreements"] = {
    "case": STR, "source": STR, "ibm_letter": STR, "class": STR, "ibm_count": INT,
    "zdiag_count": INT, "both": INT, "ibm_only": INT, "zdiag_only": INT,
    "disagreements": INT,
}  # fmt: skip


def empty(table: str) -> pd.DataFrame:
    """An empty DataFrame with the table's schema (a copy: the caller may change it)."""
    return _empty(table).copy()


@cache
def _empty(table: str) -> pd.DataFrame:
    # built once a table: every rule without findings hands back an empty findings frame,
    # and building one (2-8 ms) was a tenth of a small batch case
    schema = SCHEMAS.get(table, PROVENANCE)
    return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in schema.items()})


def _cast(series: pd.Series, dtype) -> pd.Series:
    if str(series.dtype) == str(dtype):
        return series
    if dtype == TS:
        return pd.to_datetime(series, errors="coerce").astype(TS)
    if dtype == OBJ:
        return series.astype(object)
    if dtype in (INT, FLOAT):
        return pd.to_numeric(series, errors="coerce").astype(dtype)
    return series.astype(dtype)


def conforms(table: str, df: pd.DataFrame) -> bool:
    """True when ``df`` already has ``table``'s schema columns first, with their dtypes (and
    no untyped text column after them): :func:`conform` would only copy it."""
    schema = SCHEMAS.get(table)
    if schema is None or list(df.columns[: len(schema)]) != list(schema):
        return False
    extra_ok = all(df[c].dtype != object for c in df.columns[len(schema) :])
    return extra_ok and all(str(df[c].dtype) == str(t) for c, t in schema.items())


def conform(table: str, df: pd.DataFrame) -> pd.DataFrame:
    """Order and cast ``df``'s columns to ``table``'s schema; missing columns become null."""
    schema = SCHEMAS.get(table, PROVENANCE)
    n = len(df)
    out = {}
    for col, dtype in schema.items():
        if col in df.columns:
            out[col] = _cast(df[col], dtype).reset_index(drop=True)
        else:
            out[col] = pd.Series([pd.NA] * n if dtype != TS else [pd.NaT] * n, dtype=dtype)
    for col in df.columns:
        if col not in out:
            s = df[col].reset_index(drop=True)
            if s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) in (
                "string",
                "empty",
            ):
                s = s.astype(STR)
            out[col] = s
    return pd.DataFrame(out)


class TableSet(Mapping[str, pd.DataFrame]):
    """Table name → DataFrame. Always holds ``files`` and ``unrecognised``."""

    def __init__(self, tables: Mapping[str, pd.DataFrame] | None = None):
        self._tables: dict[str, pd.DataFrame] = dict(tables or {})
        #: a :class:`zdiag.spill.Spill` holding tables too large for memory (packets), or None
        self.spill = getattr(tables, "spill", None)
        for name in ("files", "unrecognised"):
            self._tables.setdefault(name, empty(name))

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self._tables[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}: {len(v)} rows" for k, v in self._tables.items())
        return f"TableSet({inner})"

    def get_or_empty(self, name: str) -> pd.DataFrame:
        return self._tables[name] if name in self._tables else empty(name)

    @classmethod
    def concat(cls, parts: Mapping[str, list[pd.DataFrame]]) -> TableSet:
        """Join per-file frames table by table, conforming each to its schema."""
        tables = {}
        for name, frames in parts.items():
            frames = [f for f in frames if f is not None]
            if not frames:
                continue
            conformed = [conform(name, f) for f in frames if len(f)] or [empty(name)]
            tables[name] = (
                conformed[0] if len(conformed) == 1 else pd.concat(conformed, ignore_index=True)
            )
            if not conforms(name, tables[name]):  # (each part is conformed already)
                tables[name] = conform(name, tables[name])
        return cls(tables)
