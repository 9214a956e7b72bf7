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
records are assembled without a per-line Python loop: each line is tied to its record by
position (numpy searchsorted), to its block by a forward fill, the further fields of a line
are split by name tokens with one polars replace/split/explode, and the fields a column needs
are picked by group-by + pivot. A field that occurs twice in one block (the IP and the ICMP
``CheckSum`` of the 2001 layout) is kept twice in ``fields``; columns take the first.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import polars as pl

from zdiag.grammar import line_pattern
from zdiag.kinds import systcpda_common as common
from zdiag.kinds.base import UNMARKED, Accounting, Kind
from zdiag.kinds.registry import register
from zdiag.tables import STR

GRAMMAR = "systcpda_format"
NO_DATE = "1900/01/01"
RULES = ("record_header", "hex_line", "decode_line", "proto_line")
#: `Name:` / `Name=` tokens that open a further field on a `Label : value` line
_NAMED = re.compile(r"(?<!\S)([A-Z][A-Za-z#]*(?: [A-Z][A-Za-z#]*)?)[:=]")


def split_fields(rest: str | None) -> tuple[str, list[tuple[str, str]]]:
    """``'1025  ()  Destination Port:  53 (domain)'`` → ('1025  ()', [('Destination Port',
    '53 (domain)')]). Fields are found by their name token, not by column. This is the
    readable reference of the split that _field_table does in polars (tests compare them)."""
    parts = _NAMED.split(rest or "")
    names, values = parts[1::2], [p.strip() for p in parts[2::2]]
    return parts[0].strip(), list(zip(names, values, strict=True))


_SEP_NAME, _SEP_VALUE = "\x1f", "\x1e"
#: the same name tokens as _NAMED, for polars (Rust regex has no look-behind: the blank
#: before the name is matched and written back)
_NAMED_RS = r"(^|\s)([A-Z][A-Za-z#]*(?: [A-Z][A-Za-z#]*)?)[:=]"

#: field names looked up in any block of a record (first occurrence wins)
ANY = ("Tod Clock", "Device", "Full", "Abbrev", "Lost Records", "ID Number", "Packet Length",
       "TTL", "Tos", "Type/Code", "Id", "Seq", "Echo Data", "Datagram Length", "Dest Port",
       "Source Port", "Cid", "Domain", "Type", "Protocol", "State", "Segment #")  # fmt: skip
#: (block, name) looked up in one block; "@proto" is the record's protocol block
IN_BLOCK = (("ip", "Source"), ("ip", "Destination"), ("trace", "Flags"),
            ("@proto", "Source Port"), ("@proto", "Destination Port"), ("@proto", "Dest Port"),
            ("@proto", "Seq"), ("@proto", "Sequence Number"), ("@proto", "Ack"),
            ("@proto", "Ack Number"), ("@proto", "Window"), ("@proto", "Window Size"),
            ("@proto", "Flags"))  # fmt: skip
_TCP_FLAGS = {"ACK": "ack", "PSH": "psh", "SYN": "syn", "FIN": "fin", "RST": "rst", "URG": "urg"}
_STR = pl.String


def _events(hits: dict, rec_start: np.ndarray) -> pl.DataFrame:
    """All matched lines of the records as one frame (idx, rec, kind, block, texts)."""
    parts = []
    for rule, (idx, frame) in hits.items():
        if rule == "record_header":
            continue
        rec = np.searchsorted(rec_start, idx, side="right") - 1
        cols = {"idx": pl.Series(idx, dtype=pl.Int64), "rec": pl.Series(rec, dtype=pl.Int64),
                "kind": pl.Series([rule] * len(idx), dtype=_STR)}  # fmt: skip
        if rule == "field_line":
            label = frame["label"]
            is_ip = label.str.starts_with("IpHeader:")
            cols["opener"] = pl.select(pl.when(is_ip).then(pl.lit("ip"))).to_series()
            cols["label"] = label.str.replace(r"^IpHeader:\s*", "")
            cols["rest"] = frame["rest"].fill_null("")
        elif rule == "proto_line":
            cols["opener"] = frame["proto_name"]
        elif rule == "hex_line":
            cols["text"] = frame["hex_words"].str.replace_all(" ", "", literal=True)
        elif rule == "decode_line":
            cols["text"] = frame["decode_text"].str.strip_chars_end()
        parts.append(pl.DataFrame(cols))
    heads = pl.DataFrame({"idx": pl.Series(rec_start, dtype=pl.Int64),
                          "rec": pl.Series(np.arange(len(rec_start)), dtype=pl.Int64),
                          "kind": pl.Series(["record_header"] * len(rec_start), dtype=_STR),
                          "opener": pl.Series(["trace"] * len(rec_start), dtype=_STR)})  # fmt: skip
    ev = pl.concat([heads, *parts], how="diagonal_relaxed")
    for c in ("opener", "label", "rest", "text"):
        if c not in ev.columns:
            ev = ev.with_columns(pl.lit(None, dtype=_STR).alias(c))
    # the block a line belongs to: the last opener at or above it (a record header resets)
    ev = ev.sort("idx").with_columns(block=pl.col("opener").forward_fill())
    return ev.filter(pl.col("rec") >= 0)


def _field_table(ev: pl.DataFrame) -> pl.DataFrame:
    """One row per field: (rec, idx, pos, block, name, value, more); pos 0 is the label."""
    f = ev.filter(pl.col("kind") == "field_line")
    marked = f["rest"].str.replace_all(_NAMED_RS, f"$1{_SEP_NAME}$2{_SEP_VALUE}")
    f = f.with_columns(parts=marked.str.split(_SEP_NAME))
    first = f.select(
        "rec", "idx", "block", pl.lit(0, dtype=pl.Int64).alias("pos"),
        pl.col("label").alias("name"), pl.col("parts").list.first().str.strip_chars().alias(
            "value"), (pl.col("parts").list.len() > 1).alias("more"))  # fmt: skip
    more = (
        f.select("rec", "idx", "block", pl.col("parts").list.slice(1))
        .with_columns(pos=pl.int_ranges(1, pl.col("parts").list.len() + 1, dtype=pl.Int64))
        .explode("parts", "pos")
        .drop_nulls("parts")
    )
    kv = more["parts"].str.splitn(_SEP_VALUE, 2).struct.rename_fields(["name", "value"])
    more = more.with_columns(name=kv.struct.field("name"),
                             value=kv.struct.field("value").str.strip_chars(),
                             more=pl.lit(False))  # fmt: skip
    return pl.concat([first, more.select(first.columns)]).sort("idx", "pos")


def _records(hits: dict, rec_start: np.ndarray, heads: pl.DataFrame) -> pl.DataFrame:
    """One row per record: its header columns plus the fields the kind maps (wide)."""
    ev = _events(hits, rec_start)
    fields = _field_table(ev)
    recs = heads.with_columns(rec=pl.Series(np.arange(len(rec_start)), dtype=pl.Int64))

    def join(frame: pl.DataFrame) -> None:
        nonlocal recs
        recs = recs.join(frame, on="rec", how="left")

    # the record's protocol: the IP header's Protocol, else its first protocol block
    join(ev.filter(pl.col("kind") == "proto_line").group_by("rec", maintain_order=True).agg(
        first_block=pl.col("opener").first(), blocks=pl.col("opener")))  # fmt: skip
    firsts = fields.group_by("rec", "name", maintain_order=True).agg(pl.col("value").first())
    firsts = firsts.filter(pl.col("name").is_in(ANY))
    if len(firsts):
        wide = firsts.pivot(on="name", index="rec", values="value")
        join(wide.rename({c: f"any:{c}" for c in wide.columns if c != "rec"}))
    per_block = fields.group_by("rec", "block", "name", maintain_order=True).agg(
        pl.col("value").first()
    )
    ip_proto = per_block.filter((pl.col("block") == "ip") & (pl.col("name") == "Protocol"))
    join(ip_proto.select("rec", ip_protocol=pl.col("value").str.extract(r"^(\S+)")))
    for c in ("first_block", "ip_protocol"):
        if c not in recs.columns:
            recs = recs.with_columns(pl.lit(None, dtype=_STR).alias(c))
    if "blocks" not in recs.columns:
        recs = recs.with_columns(blocks=pl.lit(None, dtype=pl.List(_STR)))
    recs = recs.with_columns(protocol=pl.coalesce("ip_protocol", "first_block"))
    recs = recs.with_columns(pb=pl.when(pl.col("blocks").list.contains(pl.col("protocol")))
                             .then(pl.col("protocol")))  # fmt: skip
    # fields looked up in one block, all in one pivot: `ip:Source`, `@proto:Dest Port`, ...
    pbf = per_block.join(recs.select("rec", "pb"), on="rec", how="left")
    keyed = pl.concat([
        pbf.filter(pl.col("block").is_in(["ip", "trace"])).select(
            "rec", "value", key=pl.col("block") + ":" + pl.col("name")),
        pbf.filter(pl.col("block") == pl.col("pb")).select(
            "rec", "value", key=pl.lit("@proto:") + pl.col("name")),
    ]).filter(pl.col("key").is_in([f"{b}:{n}" for b, n in IN_BLOCK]))  # fmt: skip
    if len(keyed):
        keyed = keyed.group_by("rec", "key", maintain_order=True).agg(pl.col("value").first())
        join(keyed.pivot(on="key", index="rec", values="value"))
    # the first `Label : value` line: direction (To/From) and what it names (link, job)
    join(fields.filter(pl.col("pos") == 0).group_by("rec", maintain_order=True).agg(
        first_label=pl.col("name").first(), first_value=pl.col("value").first()))  # fmt: skip
    # `DNS: 28` in a protocol block: application protocol and its data length
    app = fields.filter(~pl.col("block").is_in(["trace", "ip"]) & (pl.col("pos") == 0)
                        & ~pl.col("more") & pl.col("name").str.contains(r"^[A-Z][A-Z0-9]*$")
                        & pl.col("value").str.contains(r"^\d+"))  # fmt: skip
    join(app.group_by("rec", maintain_order=True).agg(
        app_protocol=pl.col("name").last(), app_len=pl.col("value").last()))  # fmt: skip
    kv = pl.when(pl.col("block") == "trace").then(pl.col("name")).otherwise(
        pl.col("block") + "." + pl.col("name")) + "=" + pl.col("value")  # fmt: skip
    join(fields.group_by("rec", maintain_order=True).agg(fields=kv.str.join("; ")))
    for kind, col, sep in (("hex_line", "dump_hex", ""), ("decode_line", "decode", "\n")):
        sub = ev.filter(pl.col("kind") == kind).group_by("rec", maintain_order=True)
        join(sub.agg(pl.col("text").str.join(sep).alias(col)))
    wanted = [f"any:{n}" for n in ANY] + ["dump_hex", "decode", "fields", "app_protocol",
                                          "app_len", "first_label", "first_value"]  # fmt: skip
    for c in wanted + [f"{b}:{n}" for b, n in IN_BLOCK]:
        if c not in recs.columns:
            recs = recs.with_columns(pl.lit(None, dtype=_STR).alias(c))
    return recs.sort("rec")


def _num(col: str) -> pl.Expr:
    return pl.col(col).str.extract(r"^\s*(\d+)").cast(pl.Int64, strict=False)


def _common_cols(
    recs: pl.DataFrame, date_marks: dict[int, str], date0: str = NO_DATE
) -> pl.DataFrame:
    """Direction, the timestamp text, traced length: shared by packets and data_trace.
    ``date0``: the date of records above the first date line (from earlier pieces)."""
    first_word = pl.col("first_label").str.extract(r"^(\S+)")
    flags = pl.col("trace:Flags")
    direction = (
        pl.when(first_word == "To").then(pl.lit("out"))
        .when(first_word == "From").then(pl.lit("in"))
        .when(flags.str.contains(r"\bOut\b")).then(pl.lit("out"))
        .when(flags.str.contains(r"\bIn\b")).then(pl.lit("in"))
    )  # fmt: skip
    line = recs["line0"].to_numpy()
    day = np.full(len(line), date0, dtype=object)
    if date_marks:
        pos = np.array(sorted(date_marks), dtype=np.int64)
        vals = np.array([date_marks[p] for p in pos], dtype=object)
        k = np.searchsorted(pos, line, side="left") - 1
        day = np.where(k >= 0, vals[np.clip(k, 0, None)], date0)
    recs = recs.with_columns(day=pl.Series(day.astype(str).tolist(), dtype=_STR))
    return recs.with_columns(
        direction=direction,
        ts_text=pl.coalesce(pl.col("any:Tod Clock").replace("", None),
                            pl.col("day") + " " + pl.col("time")),
        traced_len=pl.coalesce(_num("any:Abbrev"), _num("any:Full")),
        truncated=pl.when(pl.col("any:Abbrev").is_not_null()).then(True)
        .when(pl.col("any:Full").is_not_null()).then(False),
    )  # fmt: skip


def _to_ts(col: pd.Series) -> pd.Series:
    return pd.to_datetime(col, format="%Y/%m/%d %H:%M:%S.%f", errors="coerce").astype(
        "datetime64[us]"
    )


def _to_pandas(df: pl.DataFrame) -> pd.DataFrame:
    """Columnar hand-over: Arrow-backed strings, nullable ints and booleans."""
    out = {}
    for c in df.columns:
        dt = df[c].dtype
        if c == "ts":
            out[c] = _to_ts(pd.Series(df[c].to_list(), dtype=object)).to_numpy()
            continue
        col = df[c].to_pandas(use_pyarrow_extension_array=True)
        if dt == pl.Boolean:
            out[c] = col.astype("boolean").array
        elif dt.is_integer():
            out[c] = col.astype("Int64").array
        elif dt == pl.Null:
            out[c] = pd.array([None] * len(df), dtype=STR)
        else:
            out[c] = col.astype(STR).array
    frame = pd.DataFrame(out)
    if "ts" in frame:
        frame["ts"] = frame["ts"].astype("datetime64[us]")
    return frame


def _canonical(col: str) -> pl.Expr:
    return pl.col(col).map_elements(common.canonical_ip, return_dtype=_STR, skip_nulls=True)


def _packets(recs: pl.DataFrame) -> pd.DataFrame:
    proto = pl.col("protocol")
    tcp_udp = proto.is_in(["TCP", "UDP"])
    icmp = proto.str.starts_with("ICMP")
    has_pb = pl.col("pb").is_not_null()
    tcp = (proto == "TCP") & has_pb
    ip_text = pl.col("any:ID Number")
    decimal = pl.col("any:Lost Records").is_not_null() & ip_text.str.contains(r"^\d+$")
    sport = pl.when(has_pb).then(pl.col("@proto:Source Port")).otherwise(
        pl.col("any:Source Port"))  # fmt: skip
    dport = pl.when(has_pb).then(pl.coalesce("@proto:Destination Port", "@proto:Dest Port")) \
        .otherwise(pl.col("any:Dest Port"))  # fmt: skip
    df = recs.select(
        line=pl.col("line0") + 1,
        nr=pl.col("rcd_nr").cast(pl.Int64, strict=False),
        ts=pl.col("ts_text"),
        time=pl.col("time"),
        direction=pl.col("direction"),
        protocol=proto,
        ip_id=pl.when(decimal).then(ip_text.str.to_integer(base=10, strict=False))
        .otherwise(ip_text.str.to_integer(base=16, strict=False)),
        ip_id_text=ip_text,
        src_ip=pl.col("ip:Source").replace("", None),
        src_port=pl.when(tcp_udp).then(sport.str.extract(r"^\s*(\d+)").cast(pl.Int64, strict=False)),
        dst_ip=pl.col("ip:Destination").replace("", None),
        dst_port=pl.when(tcp_udp).then(dport.str.extract(r"^\s*(\d+)").cast(pl.Int64, strict=False)),
        data_len=pl.coalesce(
            pl.col("app_len").str.extract(r"^(\d+)").cast(pl.Int64, strict=False),
            pl.when(proto == "ICMP").then(_num("any:Echo Data")),
            pl.when(proto == "UDP").then(_num("any:Datagram Length") - 8)),
        sysname=pl.col("sysname"),
        entry_id=pl.col("entry_id"),
        description=pl.col("description").str.strip_chars(),
        link=pl.when(pl.col("direction").is_not_null()).then(pl.col("first_value")),
        device=pl.col("any:Device"),
        traced_len=pl.col("traced_len"),
        truncated=pl.col("truncated"),
        ip_len=_num("any:Packet Length"),
        ttl=_num("any:TTL"),
        tos=pl.col("any:Tos"),
        icmp_type=pl.when(icmp).then(pl.col("any:Type/Code")),
        icmp_id=pl.when(icmp).then(_num("any:Id")),
        icmp_seq=pl.when(icmp).then(_num("any:Seq")),
        app_protocol=pl.col("app_protocol"),
        dns_id=pl.col("decode").str.extract(r"\bid: (\d+)").cast(pl.Int64, strict=False),
        decode=pl.col("decode"),
        dump_hex=pl.col("dump_hex"),
        fields=pl.col("fields"),
        # the TCP header decode has no published example: read by the likely field names
        seq=pl.when(tcp).then(pl.coalesce("@proto:Seq", "@proto:Sequence Number")
                              .str.extract(r"^\s*(\d+)").cast(pl.Int64, strict=False)),
        ack_num=pl.when(tcp).then(pl.coalesce("@proto:Ack", "@proto:Ack Number")
                                  .str.extract(r"^\s*(\d+)").cast(pl.Int64, strict=False)),
        window=pl.when(tcp).then(pl.coalesce("@proto:Window", "@proto:Window Size")
                                 .str.extract(r"^\s*(\d+)").cast(pl.Int64, strict=False)),
        tcp_words=pl.when(tcp).then(pl.col("@proto:Flags").fill_null("").str.to_uppercase()),
    )  # fmt: skip
    df = df.with_columns(src_ip=_canonical("src_ip"), dst_ip=_canonical("dst_ip"))
    df = df.with_columns(pl.col("tcp_words").str.contains(rf"\b{w}\b").alias(col)
                         for w, col in _TCP_FLAGS.items())  # fmt: skip
    out = pl.col("direction") == "out"
    df = df.drop("tcp_words").with_columns(
        local_ip=pl.when(out).then(pl.col("src_ip")).otherwise(pl.col("dst_ip")),
        local_port=pl.when(out).then(pl.col("src_port")).otherwise(pl.col("dst_port")),
        remote_ip=pl.when(out).then(pl.col("dst_ip")).otherwise(pl.col("src_ip")),
        remote_port=pl.when(out).then(pl.col("dst_port")).otherwise(pl.col("src_port")),
    )
    conn = pl.coalesce(
        pl.concat_str([pl.col("local_ip"), pl.lit(":"), pl.col("local_port").cast(_STR),
                       pl.lit("-"), pl.col("remote_ip"), pl.lit(":"),
                       pl.col("remote_port").cast(_STR)]),
        pl.concat_str([pl.col("local_ip"), pl.lit("-"), pl.col("remote_ip")]))  # fmt: skip
    df = df.with_columns(conn=conn)
    return _to_pandas(df.select("line", "conn", pl.exclude("line", "conn")))


def _data_trace(recs: pl.DataFrame) -> pd.DataFrame:
    df = recs.select(
        line=pl.col("line0") + 1,
        nr=pl.col("rcd_nr").cast(pl.Int64, strict=False),
        ts=pl.col("ts_text"),
        time=pl.col("time"),
        direction=pl.col("direction"),
        job=pl.when(pl.col("first_label").str.contains(r"\bJobname\b"))
        .then(pl.col("first_value")),
        cid=pl.col("any:Cid"),
        domain=pl.col("any:Domain"),
        socket_type=pl.col("any:Type"),
        protocol=pl.col("any:Protocol"),
        state=pl.col("any:State"),
        segment=_num("any:Segment #"),
        traced_len=pl.col("traced_len"),
        truncated=pl.col("truncated"),
        sysname=pl.col("sysname"),
        description=pl.col("description").str.strip_chars(),
        fields=pl.col("fields"),
    )  # fmt: skip
    return _to_pandas(df)


def parse(lines: list[str], acct: Accounting) -> dict[str, pd.DataFrame]:
    return parse_chunk(lines, acct, {})[0]


def parse_chunk(lines, acct: Accounting, state: dict) -> tuple[dict[str, pd.DataFrame], dict]:
    """Parse one piece of a FORMAT report that the pipeline cut just before a record header
    (:data:`CHUNK_AT`), so every record is whole in one piece. ``state`` carries the date of
    the last ``**** yyyy/mm/dd`` line (``date``) for records without a ``Tod Clock``; record
    numbers are as printed, so nothing else crosses a cut. Returns the tables (lines
    numbered within the piece) and the state for the next piece."""
    s = common.series(lines)
    hits = common.match_rules(s, GRAMMAR, RULES, np.flatnonzero(acct.status == UNMARKED))
    for idx, _ in hits.values():
        acct.parsed(idx)
    # shared layout / STATISTICS / STREAMS before the generic `Label : value` rule, so that
    # `Session:` and `From:` lines of a STREAMS block are not read as record fields
    date_marks = common.mark_layout(lines, s, acct)
    date0 = state.get("date", NO_DATE)
    after = {**state, "date": date_marks[max(date_marks)] if date_marks else date0}
    out = common.parse_sections(lines, s, acct)
    hits.update(
        common.match_rules(s, GRAMMAR, ("field_line",), np.flatnonzero(acct.status == UNMARKED))
    )
    rec_start = hits["record_header"][0] if "record_header" in hits else np.array([], np.int64)
    first = rec_start[0] if len(rec_start) else np.iinfo(np.int64).max
    for rule, (idx, _) in hits.items():
        if rule != "record_header":
            acct.parsed(idx[idx > first])
            acct.unrecognised(idx[idx < first], "FORMAT record line before any record header")
    acct.claim_rest("not a line of a FORMAT record known to zdiag")
    if not len(rec_start):
        return out, after
    heads = hits["record_header"][1].with_columns(line0=pl.Series(rec_start, dtype=pl.Int64))
    recs = _common_cols(_records(hits, rec_start, heads), date_marks, date0)
    is_data = (recs["mnemonic"] == "DATA") | (recs["entry_id"] == "00000005")
    if (~is_data).any():
        out["packets"] = _packets(recs.filter(~is_data))
    if is_data.any():
        out["data_trace"] = _data_trace(recs.filter(is_data))
    return out, after


#: where a large report may be cut (zdiag.stream): a record header line (the grammar's
#: ``record_header``, after an optional figure callout as the line rules allow), so that
#: every record is whole in one piece
CHUNK_AT = line_pattern(GRAMMAR, "record_header", lead=r"(?:\d[ \t]+)?")


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
        extra={
            "lines": "series",
            # large reports are cut before a record header and parsed piece by piece
            "chunk_marker": CHUNK_AT,
            "parse_chunk": parse_chunk,
        },
        path="line kinds: grammar row patterns (polars, vectorised, callout retry); records: "
        "assembled by position, forward fill, group-by and pivot (polars), no per-line loop",
    )
)
