"""Shared by the message kinds (syslog.zos, trmdstat): message ids and message templates.

A message id is a 3-4 character prefix, 3-5 digits and a severity letter (``EZZ8672I``,
``IOEZ00397I``); ``prefix`` and ``severity`` are split off it. Message templates are data
(``grammars/messages/templates.yaml``): each is compiled once to an anchored regex with a
named group per field and run with polars over all messages of one id at once, so typed
fields cost one vectorised pass per message id, not a Python loop per row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import yaml

from zdiag.kinds.addresses import canonical_ip, canonical_ips  # noqa: F401 - trmdstat reads it here
from zdiag.kinds.base import null_array
from zdiag.resources import data_dir
from zdiag.tables import SCHEMAS

#: a z/OS message id at the start of a text (prefix letters, digits, severity letter)
MSG_ID_RX = r"(?:[A-Z][A-Z0-9@#$]{2,4}\d{3,5}[A-Z]|\$HASP\d{3,4})"
#: a message id inside another program's text (word-bounded)
MSG_ID_ANYWHERE = r"\b(?:[A-Z]{3,4}\d{3,5}[A-Z])\b"

#: field type -> (regex, pandas dtype)
FIELD_TYPES: dict[str, tuple[str, str]] = {
    "int": (r"\d+", "Int64"),
    "pct": (r"\d+%?", "Int64"),
    "num": (r"\d+(?:\.\d+)?", "Float64"),
    "word": (r"[^\s,]+", "string"),
    "hex": (r"[0-9A-Fa-f]+", "string"),
    "date": (r"\d\d/\d\d/\d{4}", "string"),
    "time": (r"\d\d:\d\d:\d\d(?:\.\d+)?", "string"),
    "ip": (r"[0-9A-Fa-f:.]+", "ip"),
    "words": (r"\S+(?:\s+\S+)*?", "string"),
    "rest": (r".*?", "string"),
}

_TOKEN = re.compile(r"\{(\w+):(\w+)\}|\s+|[^\s{]+")


@dataclass(frozen=True)
class Template:
    msg_id: str
    source: str
    pattern: str  # anchored regex (whole-text) or "" in keyword mode
    keyword_patterns: tuple[tuple[str, str], ...]  # keyword mode: (field, regex with group)
    fields: tuple[tuple[str, str], ...]  # (column, type) in template order
    confirmed: bool


def _punct(ch: str) -> bool:
    return not (ch.isalnum() or ch == "_")


def _field_regex(name: str, typ: str) -> tuple[str, list[tuple[str, str]]]:
    if typ == "ipport":
        return (
            rf"(?P<{name}_ip>[0-9A-Fa-f:.]+?)\.\.(?P<{name}_port>\d+)",
            [(f"{name}_ip", "ip"), (f"{name}_port", "int")],
        )
    if typ not in FIELD_TYPES:
        raise ValueError(f"template field {name}: unknown type {typ!r}")
    return f"(?P<{name}>{FIELD_TYPES[typ][0]})", [(name, typ)]


def compile_template(msg_id: str, spec: dict) -> Template:
    """Compile one template entry of templates.yaml."""
    items: list[tuple[str, str, str]] = []  # (kind, text/name, type)
    for m in _TOKEN.finditer(spec["text"]):
        if m.group(1):
            items.append(("field", m.group(1), m.group(2)))
        elif m.group(0).isspace():
            items.append(("ws", "", ""))
        else:
            items.append(("lit", m.group(0), ""))
    fields: list[tuple[str, str]] = []
    if spec.get("keywords"):
        kws = []
        for k, (kind, name, typ) in enumerate(items):
            if kind != "field":
                continue
            rx, fl = _field_regex(name, typ)
            fields += fl
            prev = [it for it in items[:k] if it[0] != "ws"]
            key = prev[-1][1] if prev and prev[-1][0] == "lit" else ""
            lead = rf"(?:^|[\s,]){re.escape(key)}\s*" if key else ""
            kws.append((name, lead + rx))
        return Template(msg_id, spec.get("source", ""), "", tuple(kws), tuple(fields),
                        bool(spec.get("confirmed", True)))  # fmt: skip
    out = []
    for k, (kind, name, typ) in enumerate(items):
        if kind == "lit":
            out.append(re.escape(name))
        elif kind == "field":
            rx, fl = _field_regex(name, typ)
            fields += fl
            out.append(rx)
        else:
            prev = items[k - 1] if k else ("lit", " ", "")
            nxt = items[k + 1] if k + 1 < len(items) else ("lit", " ", "")
            left = prev[1][-1:] if prev[0] == "lit" else "a"
            right = nxt[1][:1] if nxt[0] == "lit" else "a"
            out.append(r"\s*" if _punct(left) or _punct(right) else r"\s+")
    pattern = r"^\s*" + "".join(out) + r"\s*$"
    return Template(msg_id, spec.get("source", ""), pattern, (), tuple(fields),
                    bool(spec.get("confirmed", True)))  # fmt: skip


@cache
def templates() -> dict[str, tuple[Template, ...]]:
    """All message templates by message id (compiled once)."""
    path = data_dir("grammars") / "messages" / "templates.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {mid: tuple(compile_template(mid, s) for s in specs) for mid, specs in raw.items()}


@cache
def template_columns() -> dict[str, str]:
    """Every typed column any template can fill → its type (first declaration wins)."""
    cols: dict[str, str] = {}
    for tpls in templates().values():
        for t in tpls:
            for name, typ in t.fields:
                if name not in ("date", "time"):
                    cols.setdefault(name, typ)
    return cols


def split_ids(msg_id: pl.Series) -> tuple[pl.Series, pl.Series]:
    """prefix (leading letters) and severity (last letter) of each message id."""
    prefix = msg_id.str.extract(r"^([A-Z$#@]+)", 1)
    severity = msg_id.str.extract(r"\d([A-Z])$", 1)
    return prefix, severity


def to_pandas(col: pl.Series, typ: str = "word") -> pd.Series:
    """One polars column as a pandas nullable column (Arrow strings, Int64, Float64),
    built from the column's buffers rather than Python objects."""
    if typ in ("int", "pct", "num"):
        num = col.cast(pl.Int64 if typ != "num" else pl.Float64, strict=False)
        mask = num.is_null().to_numpy()
        values = num.fill_null(0).to_numpy()
        cls = pd.arrays.FloatingArray if typ == "num" else pd.arrays.IntegerArray
        return pd.Series(cls(values, mask))
    arr = col.cast(pl.String).to_arrow()
    return pd.Series(pd.arrays.ArrowStringArray(arr.cast(pa.large_string())))


def apply_templates(msg_id: pl.Series, body: pl.Series) -> dict[str, pd.Series]:
    """Typed template columns for each message (null where no template fits).

    ``body`` is the message text after the id. Also returns ``template`` (``<id>#<n>``,
    the n-th layout of that id in templates.yaml) and ``event_ts`` (the message's own
    date/time). All matching and casting runs in polars, one pass per template.
    """
    n = len(body)
    ids = msg_id.fill_null("")
    parts: list[pl.DataFrame] = []
    for mid, tpls in templates().items():
        rows = np.flatnonzero((ids == mid).to_numpy())
        for k, t in enumerate(tpls, start=1):
            if not len(rows):
                break
            sub = body.gather(rows).fill_null("")
            if t.pattern:
                got = sub.str.extract_groups(t.pattern).struct.unnest()
                hit = got[t.fields[0][0]].is_not_null().to_numpy()
            else:
                cols = [sub.str.extract_groups(rx).struct.unnest() for _, rx in t.keyword_patterns]
                got = pl.concat(cols, how="horizontal")
                hit = got.select(pl.any_horizontal(pl.all().is_not_null())).to_series().to_numpy()
            if hit.any():
                part = got.filter(pl.Series(hit)).with_columns(
                    _row=pl.Series(rows[hit], dtype=pl.Int64), template=pl.lit(f"{mid}#{k}")
                )
                parts.append(part)
            rows = rows[~hit]
    frame = pl.DataFrame({"_row": pl.Series(np.arange(n), dtype=pl.Int64)})
    if parts:
        frame = frame.join(pl.concat(parts, how="diagonal"), on="_row", how="left")
        frame = frame.sort("_row")
    schema = SCHEMAS["messages"]
    types = template_columns()
    out: dict[str, pd.Series] = {}
    for name in (*types, "template"):
        if name in frame.columns:
            col = frame[name]
            typ = types.get(name, "word")
            if typ == "pct":
                col = col.str.strip_chars_end("%")
            if typ == "ip":
                col = canonical_ips(col)
            out[name] = to_pandas(col, typ)
        elif name in schema:
            out[name] = pd.Series(null_array(schema[name], n))
    if "date" in frame.columns:
        stamp = frame.select(
            pl.concat_str([pl.col("date"), pl.col("time")], separator=" ")
        ).to_series()
        ts = stamp.str.strptime(pl.Datetime("us"), "%m/%d/%Y %H:%M:%S%.f", strict=False)
        out["event_ts"] = ts.to_pandas().astype("datetime64[us]")
    else:
        out["event_ts"] = pd.Series(pd.NaT, index=range(n), dtype="datetime64[us]")
    return out


def message_frame(line: np.ndarray, text: pl.Series, **cols) -> pd.DataFrame:
    """A messages table from 1-based lines and joined texts (msg id split off the text).

    Extra keyword columns (``ts``, ``host``, ``job`` …) are taken as given. Template
    columns that no row filled are left out unless the messages schema names them.
    """
    text = text.fill_null("")
    # two single-purpose passes: capturing a long `.*` group costs more than both together
    msg_id = text.str.extract(rf"^\s*({MSG_ID_RX})", 1)
    body = text.str.replace(rf"^\s*{MSG_ID_RX}\s*", "")
    prefix, severity = split_ids(msg_id)
    out: dict[str, object] = {"line": pd.array(line, dtype="Int64")}
    out.update(cols)
    out["msg_id"] = to_pandas(msg_id)
    out["prefix"] = to_pandas(prefix)
    out["severity"] = to_pandas(severity)
    out["text"] = to_pandas(text.str.strip_chars())
    for k, v in apply_templates(msg_id, body).items():
        out[k] = v.reset_index(drop=True)
    df = pd.DataFrame(out)
    if "ts" in df.columns:
        ts = df["ts"].astype("datetime64[us]")
        df["ts"] = ts.where(ts.notna(), df["event_ts"])
    else:
        df["ts"] = df["event_ts"]
    return df
