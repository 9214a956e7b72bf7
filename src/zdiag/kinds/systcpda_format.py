"""Kind ``systcpda.format``: IPCS CTRACE COMP(SYSTCPDA) OPTIONS((FORMAT)) full record decode
(FORMATS.md §2) and the FORMAT of data trace records ("Layouts found later" §B).

A record starts with ``RcdNr Sysname Mnemonic EntryId hh:mm:ss.ffffff Description``, then
``Label : value`` lines (with further ``Name: value`` / ``Name=value`` fields on the same
line), the IP header (``IpHeader: Version : 4``), a protocol line (``UDP``, ``ICMP``) opening
that protocol's fields, an application line (``DNS: 28``), hex dump lines and, after a
``=====`` rule, an application decode (``;; ...``).

Tables:
- ``packets``: one row per packet record (Mnemonic other than DATA), TCP or not, with
  ``protocol`` from the IP header's Protocol field (or the protocol line). ``ts`` is the
  record's ``Tod Clock`` (it prints the date); without one, the header time on the date of
  the last ``**** yyyy/mm/dd`` line (or 1900-01-01). Direction from ``To``/``From`` of the
  first trace-header line (``Flags: ... Out``/``In`` otherwise). ``ip_id`` is hex in later
  releases (``000E``) and decimal in the 2001 layout (the one with ``Lost Records``); the text
  is kept in ``ip_id_text``. Extra columns: link, device, traced_len, truncated (``Abbrev=``),
  ip_len, ttl, tos, icmp_type, icmp_id, icmp_seq, app_protocol, dns_id, decode, dump_hex, and
  ``fields`` (every ``label=value`` of the record, so nothing printed is lost).
- ``data_trace``: one row per data trace record (Mnemonic DATA / Entry Id 00000005): job,
  cid, domain, socket type, protocol, state, segment, traced_len, ts.
The TCP header decode of a FORMAT record has no published example; TCP fields are read by
their likely names (Seq/Sequence Number, Ack/Ack Number, Window/Window Size, Flags) and this
is unconfirmed.

Figure callouts (a digit and a blank before a line in the manual's figures) are handled for
all systcpda kinds alike: a line no rule reads as it stands is tried once more without such
a prefix (systcpda_common.match_rules), so a real line is never altered.

Path: every line kind by a grammar row pattern (polars, vectorised, with the callout retry);
records are assembled by one linear pass over the matched lines (records are few per file
compared with SUMMARY/SESSION rows).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from zdiag.kinds import systcpda_common as common
from zdiag.kinds.base import UNMARKED, Accounting, Kind
from zdiag.kinds.registry import register
from zdiag.tables import STR

GRAMMAR = "systcpda_format"
NO_DATE = "1900/01/01"
RULES = ("record_header", "hex_line", "decode_line", "proto_line")
#: `Name:` / `Name=` tokens that open a further field on a `Label : value` line
_NAMED = re.compile(r"(?<!\S)([A-Z][A-Za-z#]*(?: [A-Z][A-Za-z#]*)?)[:=]")
_INT = re.compile(r"^\s*(\d+)")


def split_fields(rest: str | None) -> tuple[str, list[tuple[str, str]]]:
    """``'1025  ()  Destination Port:  53 (domain)'`` → ('1025  ()', [('Destination Port',
    '53 (domain)')]). Fields are found by their name token, not by column."""
    parts = _NAMED.split(rest or "")
    names, values = parts[1::2], [p.strip() for p in parts[2::2]]
    return parts[0].strip(), list(zip(names, values, strict=True))


def _int(v) -> int | None:
    m = _INT.match(v) if isinstance(v, str) else None
    return int(m.group(1)) if m else None


class _Record:
    __slots__ = ("line", "head", "block", "fields", "by_name", "dump", "decode", "app",
                 "first_label")  # fmt: skip

    def __init__(self, line: int, head: dict):
        self.line, self.head, self.block = line, head, "trace"
        self.fields: dict[tuple[str, str], str] = {}
        self.by_name: dict[str, str] = {}
        self.dump: list[str] = []
        self.decode: list[str] = []
        self.app: tuple[str, str] | None = None
        self.first_label: str | None = None

    def add(self, name: str, value: str) -> None:
        self.fields.setdefault((self.block, name), value)
        self.by_name.setdefault(name, value)

    def get(self, *names: str, block: str | None = None) -> str | None:
        for name in names:
            v = self.by_name.get(name) if block is None else self.fields.get((block, name))
            if v is not None:
                return v
        return None


def parse(lines: list[str], acct: Accounting) -> dict[str, pd.DataFrame]:
    s = common.series(lines)
    hits = common.match_rules(s, GRAMMAR, RULES, np.flatnonzero(acct.status == UNMARKED))
    for idx, _ in hits.values():
        acct.parsed(idx)
    # shared layout / STATISTICS / STREAMS before the generic `Label : value` rule, so that
    # `Session:` and `From:` lines of a STREAMS block are not read as record fields
    date_marks = common.mark_layout(lines, s, acct)
    out = common.parse_sections(lines, s, acct)
    fld = common.match_rules(s, GRAMMAR, ("field_line",), np.flatnonzero(acct.status == UNMARKED))
    if fld:
        hits.update(fld)
    events: list[tuple[int, str, dict]] = []
    for rule, (idx, frame) in hits.items():
        events.extend(zip(idx.tolist(), [rule] * len(idx), frame.to_dicts(), strict=True))
    events.sort(key=lambda e: e[0])

    records: list[_Record] = []
    cur: _Record | None = None
    orphans: list[int] = []
    for i, rule, g in events:
        if rule == "record_header":
            cur = _Record(i, g)
            records.append(cur)
            continue
        if cur is None:
            orphans.append(i)
            continue
        if rule == "field_line":
            label = g["label"]
            if label.startswith("IpHeader:"):
                cur.block = "ip"
                label = label[len("IpHeader:") :].strip()
            value, more = split_fields(g["rest"])
            if cur.first_label is None:
                cur.first_label = label
            if cur.block not in ("trace", "ip") and label.isupper() and _int(value) is not None \
                    and not more:  # fmt: skip
                cur.app = (label, value)  # `DNS: 28`: application protocol and data length
            cur.add(label, value)
            for name, v in more:
                cur.add(name, v)
        elif rule == "proto_line":
            cur.block = g["proto_name"]
        elif rule == "hex_line":
            cur.dump.append(g["hex_words"].replace(" ", ""))
        elif rule == "decode_line":
            cur.decode.append(g["decode_text"].rstrip())
    acct.parsed([i for i, _, _ in events])
    acct.unrecognised(orphans, "FORMAT record line before any record header")
    acct.claim_rest("not a line of a FORMAT record known to zdiag")

    pk = [r for r in records if not _is_data(r)]
    dt = [r for r in records if _is_data(r)]
    if pk:
        out["packets"] = _packets(pk, date_marks)
    if dt:
        out["data_trace"] = _data_trace(dt, date_marks)
    return out


def _fields_text(r: _Record) -> str:
    """Every field of the record, ``Label=value; ...``; fields of a protocol block (and of
    the IP header) carry its name first (``UDP.Source Port=1025``)."""
    return "; ".join(f"{k}={v}" if b == "trace" else f"{b}.{k}={v}"
                     for (b, k), v in r.fields.items())  # fmt: skip


def _is_data(r: _Record) -> bool:
    return r.head["mnemonic"] == "DATA" or r.head["entry_id"] == "00000005"


def _date_for(line: int, marks: dict[int, str]) -> str:
    above = [p for p in marks if p < line]  # date lines are few
    return marks[max(above)] if above else NO_DATE


def _ts(r: _Record, marks: dict[int, str]) -> str:
    """The record's time as text (converted for all records at once)."""
    tod = r.get("Tod Clock")
    return tod if tod else f"{_date_for(r.line, marks)} {r.head['time']}"


def _to_ts(col: pd.Series) -> pd.Series:
    return pd.to_datetime(col, format="%Y/%m/%d %H:%M:%S.%f", errors="coerce").astype(
        "datetime64[us]"
    )


def _direction(r: _Record) -> str | None:
    first = (r.first_label or "").split(" ")[0]
    if first in ("To", "From"):
        return "out" if first == "To" else "in"
    flags = (r.get("Flags", block="trace") or "").split()
    return "out" if "Out" in flags else "in" if "In" in flags else None


def _traced(r: _Record) -> tuple[int | None, bool | None]:
    full, abbrev = r.get("Full"), r.get("Abbrev")
    if abbrev is not None:
        return _int(abbrev), True
    if full is not None:
        return _int(full), False
    return None, None


_TCP_FLAGS = {"ACK": "ack", "PSH": "psh", "SYN": "syn", "FIN": "fin", "RST": "rst", "URG": "urg"}


def _packets(recs: list[_Record], marks: dict[int, str]) -> pd.DataFrame:
    rows = []
    for r in recs:
        proto = r.get("Protocol", block="ip")
        proto = proto.split()[0] if proto else None
        blocks = [b for b, _ in r.fields if b not in ("trace", "ip")]
        if not proto and blocks:
            proto = blocks[0]
        pb = proto if proto in blocks else None
        direction = _direction(r)
        src, dst = r.get("Source", block="ip") or None, r.get("Destination", block="ip") or None
        sport = dport = None
        if proto in ("TCP", "UDP"):
            sport = _int(r.get("Source Port", block=pb) if pb else r.get("Source Port"))
            dport = _int(r.get("Destination Port", "Dest Port", block=pb) if pb
                         else r.get("Dest Port"))  # fmt: skip
        ip_text = r.get("ID Number")
        old_layout = r.get("Lost Records") is not None
        ip_id = None
        if ip_text:
            base = 10 if old_layout and ip_text.isdigit() else 16
            try:
                ip_id = int(ip_text, base)
            except ValueError:
                ip_id = None
        data_len = None
        if r.app:
            data_len = _int(r.app[1])
        elif proto == "ICMP" and r.get("Echo Data") is not None:
            data_len = _int(r.get("Echo Data"))
        elif proto == "UDP" and _int(r.get("Datagram Length")) is not None:
            data_len = _int(r.get("Datagram Length")) - 8
        traced, trunc = _traced(r)
        dns = re.search(r"\bid: (\d+)", " ".join(r.decode))
        row = {
            "line": r.line + 1,
            "nr": int(r.head["rcd_nr"]),
            "ts": _ts(r, marks),
            "time": r.head["time"],
            "direction": direction,
            "protocol": proto,
            "ip_id": ip_id,
            "ip_id_text": ip_text,
            "src_ip": common.canonical_ip(src),
            "src_port": sport,
            "dst_ip": common.canonical_ip(dst),
            "dst_port": dport,
            "data_len": data_len,
            "sysname": r.head["sysname"],
            "entry_id": r.head["entry_id"],
            "description": r.head["description"].strip(),
            "link": r.fields.get(("trace", r.first_label)) if direction else None,
            "device": r.get("Device"),
            "traced_len": traced,
            "truncated": trunc,
            "ip_len": _int(r.get("Packet Length")),
            "ttl": _int(r.get("TTL")),
            "tos": r.get("Tos"),
            "icmp_type": r.get("Type/Code") if proto and proto.startswith("ICMP") else None,
            "icmp_id": _int(r.get("Id")) if proto and proto.startswith("ICMP") else None,
            "icmp_seq": _int(r.get("Seq")) if proto and proto.startswith("ICMP") else None,
            "app_protocol": r.app[0] if r.app else None,
            "dns_id": int(dns.group(1)) if dns else None,
            "decode": "\n".join(r.decode) or None,
            "dump_hex": "".join(r.dump) or None,
            "fields": _fields_text(r),
        }
        if proto == "TCP" and pb:
            row["seq"] = _int(r.get("Seq", "Sequence Number", block=pb))
            row["ack_num"] = _int(r.get("Ack", "Ack Number", block=pb))
            row["window"] = _int(r.get("Window", "Window Size", block=pb))
            words = (r.get("Flags", block=pb) or "").upper().split()
            for w, col in _TCP_FLAGS.items():
                row[col] = w in words
        rows.append(row)
    df = pd.DataFrame(rows)
    out_b = df["direction"].eq("out").fillna(False).to_numpy(dtype=bool)
    for a, b, loc, rem in (("src_ip", "dst_ip", "local_ip", "remote_ip"),
                           ("src_port", "dst_port", "local_port", "remote_port")):  # fmt: skip
        df[loc] = np.where(out_b, df[a].astype(object), df[b].astype(object))
        df[rem] = np.where(out_b, df[b].astype(object), df[a].astype(object))
    conn = []
    for li, lp, ri, rp in zip(df["local_ip"], df["local_port"], df["remote_ip"],
                              df["remote_port"], strict=True):  # fmt: skip
        if li is None or ri is None or pd.isna(li) or pd.isna(ri):
            conn.append(None)
        elif lp is None or rp is None or pd.isna(lp) or pd.isna(rp):
            conn.append(f"{li}-{ri}")
        else:
            conn.append(f"{li}:{int(lp)}-{ri}:{int(rp)}")
    df.insert(1, "conn", pd.array(conn, dtype=STR))
    df["ts"] = _to_ts(df["ts"])
    return df


def _data_trace(recs: list[_Record], marks: dict[int, str]) -> pd.DataFrame:
    rows = []
    for r in recs:
        traced, trunc = _traced(r)
        first = (r.first_label or "").split(" ")
        rows.append(
            {
                "line": r.line + 1,
                "nr": int(r.head["rcd_nr"]),
                "ts": _ts(r, marks),
                "time": r.head["time"],
                "direction": _direction(r),
                "job": r.fields.get(("trace", r.first_label)) if "Jobname" in first else None,
                "cid": r.get("Cid"),
                "domain": r.get("Domain"),
                "socket_type": r.get("Type"),
                "protocol": r.get("Protocol"),
                "state": r.get("State"),
                "segment": _int(r.get("Segment #")),
                "traced_len": traced,
                "truncated": trunc,
                "sysname": r.head["sysname"],
                "description": r.head["description"].strip(),
                "fields": _fields_text(r),
            }
        )
    df = pd.DataFrame(rows)
    df["ts"] = _to_ts(df["ts"])
    return df


def detect(head: list[str]) -> float:
    text = "\n".join(head)
    score = 0.0
    if "Tod Clock" in text:
        score = 0.6
    hits = common.match_rules(common.series(head), GRAMMAR, ("record_header",),
                              np.arange(len(head)))  # fmt: skip
    if "record_header" in hits:
        score = 0.9 if "Tod Clock" in text or "IpHeader:" in text else 0.75
    return score


register(
    Kind(
        name="systcpda.format",
        description="IPCS CTRACE COMP(SYSTCPDA) OPTIONS((FORMAT)): full packet and data trace "
        "record decode (IP/UDP/ICMP headers, hex dump, DNS decode)",
        tables=("packets", "data_trace"),
        detect=detect,
        parse=parse,
        grammar=GRAMMAR,
        samples=(
            "systcpda/format_udp_dns_callouts.txt",
            "systcpda/format_icmp_echo_snalu62.txt",
        ),
        path="line kinds: grammar row patterns (polars, vectorised, callout retry); records: "
        "one linear pass over the matched lines",
    )
)
