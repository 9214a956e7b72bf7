"""Shared by the message kinds (syslog.zos, trmdstat): message ids and message templates.

A message id is a 3-4 character prefix, 3-5 digits and a severity letter (``EZZ8672I``,
``IOEZ00397I``); ``prefix`` and ``severity`` are split off it. Message templates are data
(``grammars/messages/templates.yaml``): each is compiled once to an anchored regex with a
named group per field and run with polars over all messages of one id at once, so typed
fields cost one vectorised pass per message id, not a Python loop per row.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
import polars as pl
import yaml

from zdiag.resources import data_dir
from zdiag.tables import SCHEMAS, STR

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


def canonical_ip(text: str | None) -> str | None:
    """Canonical form of an address; text that is not one (masked) stays as printed."""
    if text is None:
        return None
    try:
        addr = ipaddress.ip_address(text.split("%")[0])
    except ValueError:
        return text
    return str(addr)


def split_ids(msg_id: pl.Series) -> tuple[pl.Series, pl.Series]:
    """prefix (leading letters) and severity (last letter) of each message id."""
    prefix = msg_id.str.extract(r"^([A-Z$#@]+)", 1)
    severity = msg_id.str.extract(r"\d([A-Z])$", 1)
    return prefix, severity


def apply_templates(msg_id: pl.Series, body: pl.Series) -> dict[str, pd.Series]:
    """Typed template columns for each message (null where no template fits).

    ``body`` is the message text after the id. Also returns ``template`` (the template's
    source of the layout that matched) and ``event_ts`` (the message's own date/time).
    """
    n = len(body)
    cols: dict[str, np.ndarray] = {}
    wanted = template_columns()
    for c in (*wanted, "date", "time", "template"):
        cols[c] = np.full(n, None, dtype=object)
    filled: set[str] = set()
    ids = msg_id.fill_null("")
    for mid, tpls in templates().items():
        rows = np.flatnonzero((ids == mid).to_numpy())
        if not len(rows):
            continue
        for k, t in enumerate(tpls, start=1):
            if not len(rows):
                break
            sub = body.gather(rows).fill_null("")
            if t.pattern:
                got = sub.str.extract_groups(t.pattern).struct.unnest()
                first = t.fields[0][0]
                hit = got[first].is_not_null().to_numpy()
                for name, _typ in t.fields:
                    vals = got[name].to_numpy()
                    cols[name][rows[hit]] = vals[hit]
                    if hit.any():
                        filled.add(name)
            else:
                hit = np.zeros(len(rows), dtype=bool)
                for name, rx in t.keyword_patterns:
                    got = sub.str.extract_groups(rx).struct.unnest()
                    for col in got.columns:
                        v = got[col].to_numpy()
                        ok = got[col].is_not_null().to_numpy()
                        cols[col][rows[ok]] = v[ok]
                        hit |= ok
                        if ok.any():
                            filled.add(col)
                    del name
            cols["template"][rows[hit]] = f"{mid}#{k}"
            rows = rows[~hit]
    out: dict[str, pd.Series] = {}
    types = {**wanted}
    schema = SCHEMAS["messages"]
    for name, arr in cols.items():
        if name in ("date", "time") or (name not in filled and name not in schema):
            continue
        typ = types.get(name, "word")
        s = pd.Series(arr, dtype=object)
        if typ in ("int", "pct"):
            s = pd.to_numeric(s.str.rstrip("%"), errors="coerce").astype("Int64")
        elif typ == "num":
            s = pd.to_numeric(s, errors="coerce").astype("Float64")
        elif typ == "ip":
            uniq = {v: canonical_ip(v) for v in pd.unique(s.dropna())}
            s = s.map(uniq).astype(STR)
        else:
            s = s.astype(STR)
        out[name] = s
    stamp = pd.Series(cols["date"], dtype=object) + " " + pd.Series(cols["time"], dtype=object)
    out["event_ts"] = pd.to_datetime(stamp, format="%m/%d/%Y %H:%M:%S.%f", errors="coerce")
    no_frac = out["event_ts"].isna() & stamp.notna()
    if no_frac.any():
        out["event_ts"] = out["event_ts"].where(
            ~no_frac, pd.to_datetime(stamp, format="%m/%d/%Y %H:%M:%S", errors="coerce")
        )
    out["event_ts"] = out["event_ts"].astype("datetime64[us]")
    return out


def message_frame(line: np.ndarray, text: pl.Series, **cols) -> pd.DataFrame:
    """A messages table from 1-based lines and joined texts (msg id split off the text).

    Extra keyword columns (``ts``, ``host``, ``job`` …) are taken as given. Template
    columns that no row filled are left out unless the messages schema names them.
    """
    parts = text.fill_null("").str.extract_groups(rf"^\s*(?P<msg_id>{MSG_ID_RX})?\s*(?P<body>.*)$")
    parts = parts.struct.unnest()
    msg_id = parts["msg_id"]
    prefix, severity = split_ids(msg_id)
    out: dict[str, object] = {"line": pd.array(line, dtype="Int64")}
    out.update(cols)
    out["msg_id"] = pd.array(msg_id.to_list(), dtype=STR)
    out["prefix"] = pd.array(prefix.to_list(), dtype=STR)
    out["severity"] = pd.array(severity.to_list(), dtype=STR)
    out["text"] = pd.array(text.str.strip_chars().to_list(), dtype=STR)
    schema = SCHEMAS["messages"]
    for k, v in apply_templates(msg_id, parts["body"]).items():
        if k in schema or v.notna().any():
            out[k] = v.reset_index(drop=True)
    df = pd.DataFrame(out)
    if "ts" in df.columns:
        ts = df["ts"].astype("datetime64[us]")
        df["ts"] = ts.where(ts.notna(), df["event_ts"])
    else:
        df["ts"] = df["event_ts"]
    return df
