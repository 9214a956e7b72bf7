"""Kind ``config.profile``: TCPIP PROFILE statements (and Policy Agent AT-TLS policy files).

Table ``config``: one row per statement or operand: ``kind`` (``profile`` / ``policy``),
``block`` (``TCPCONFIG``, ``GLOBALCONFIG SMCR``, ``BEGINROUTES``, ``PORT``, ``VIPADYNAMIC``,
``KEEPALIVEOPTIONS`` …; for policies the path of enclosing statements), ``statement``
(upper case: the operand, the list statement, or the block member's first word),
``value`` as written, ``value_num`` and ``unit`` (timers in seconds: INTERVAL and ARPAGE
are written in minutes and converted; sizes accept K/M), and ``note``.

As the stack reads a profile: `;` starts a comment; a statement continues over the
following lines until the next statement keyword (no continuation mark); operands of
TCPCONFIG / GLOBALCONFIG / IPCONFIG … become one row each; PORT, HOME … entries one row
each; BEGINRoutes … ENDRoutes and the other block statements one row per member line.
INCLUDE is reported as a row with a note, not followed. An operand that takes a number
and has none keeps its row with ``value_num`` null and the line is reported unrecognised.

Grammar: grammars/config_profile.lark (line split with polars over all lines); the
statement table below drives a small state machine over the statement lines.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import polars as pl

from zdiag.grammar import MATCH_GROUP, extract, row_regex
from zdiag.kinds import config_common as cc
from zdiag.kinds.base import UNMARKED, Accounting, Kind
from zdiag.kinds.registry import register

GRAMMAR = "config_profile"

#: block statements and their end keyword
BLOCKS = {
    "BEGINROUTES": "ENDROUTES", "AUTOLOG": "ENDAUTOLOG", "VIPADYNAMIC": "ENDVIPADYNAMIC",
    "NETACCESS": "ENDNETACCESS", "BSDROUTINGPARMS": "ENDBSDROUTINGPARMS",
    "BEGINVTAM": "ENDVTAM", "SRCIP": "ENDSRCIP", "KEEPALIVEOPTIONS": "ENDKEEPALIVEOPTIONS",
    "SMFPARMS": "ENDSMFPARMS", "IPSEC": "ENDIPSEC", "ASSORTEDPARMS": "ENDASSORTEDPARMS",
    "PORTACCESS": "ENDPORTACCESS", "DYNAMICXCF": "",
}  # fmt: skip
BLOCKS.pop("DYNAMICXCF")
#: list statements: entries follow on the next lines until the next statement
LISTS = frozenset({"PORT", "HOME", "PORTRANGE", "GATEWAY", "TRANSLATE", "ATMLIS", "ATMPVC"})
#: statements whose operands are a keyword list (continued over lines)
OPERAND_STMTS = frozenset({"TCPCONFIG", "UDPCONFIG", "IPCONFIG", "IPCONFIG6", "GLOBALCONFIG",
                           "SACONFIG", "SMFCONFIG", "NETMONITOR"})  # fmt: skip
#: other statements (one statement per line, value = the rest)
SIMPLE = frozenset(
    """
ARPAGE ATMARPSV DEFADDRTABLE DELETE DEVICE INCLUDE INTERFACE ITRACE LINK OSAENTA PKTTRACE
PRIMARYINTERFACE SOMAXCONN START STOP DEFAULTNET
""".split()
)
STATEMENTS = frozenset(BLOCKS) | LISTS | OPERAND_STMTS | SIMPLE
END_WORDS = frozenset(BLOCKS.values())
#: sub-operand groups inside an operand statement (GLOBALCONFIG SMCR PFID 203 ...)
SUBGROUPS = {
    "SMCR": frozenset({"PFID", "PORTNUM", "MTU", "FIXEDMEMORY", "TCPKEEPMININTERVAL"}),
    "SMCD": frozenset({"FIXEDMEMORY", "TCPKEEPMININTERVAL"}),
}
#: operands (and simple statements) whose value is a number, with its unit
UNITS = {
    "FINWAIT2TIME": "s", "TIMEWAITINTERVAL": "s", "MAXIMUMRETRANSMITTIME": "s",
    "MINIMUMRETRANSMITTIME": "s", "KEEPALIVEPROBEINTERVAL": "s", "INTERVAL": "min",
    "TCPKEEPMININTERVAL": "s", "ARPAGE": "min", "REASSEMBLYTIMEOUT": "s",
    "KEEPALIVEPROBES": "count", "RETRANSMITATTEMPTS": "count", "SOMAXCONN": "count",
    "TCPSENDBFRSIZE": "bytes", "TCPRCVBUFRSIZE": "bytes", "TCPMAXRCVBUFRSIZE": "bytes",
    "TCPMAXSENDBUFRSIZE": "bytes", "UDPSENDBFRSIZE": "bytes", "UDPRCVBUFRSIZE": "bytes",
    "FIXEDMEMORY": "MB", "MTU": "bytes", "TTL": "hops", "DEFAULTHOPLIMIT": "hops",
}  # fmt: skip
#: operands whose argument is a word (not a new operand)
TAKES_WORD = frozenset({"COMMUNITY", "PFID", "PORTNUM", "SOURCEVIPAINTERFACE", "SENDGARBAGE",
                        "AGENT", "SETADDR", "IQDVLANID"})  # fmt: skip
#: an operand's argument: a number or size, an address, TRUE/FALSE, a quoted string
_VALUE_LIKE = re.compile(r"^(?:\d+(?:\.\d+)?[KkMm]?|[0-9A-Fa-f:.]*[.:][0-9A-Fa-f:./]*|"
                         r"(?i:TRUE|FALSE)|'.*'|\".*\")$")  # fmt: skip
_PORT_ENTRY = re.compile(r"^\d+\s+(?:TCP|UDP)\b", re.I)


class _Rows:
    def __init__(self) -> None:
        self.cols: dict[str, list] = {k: [] for k in ("line", "block", "statement", "value",
                                                      "note")}  # fmt: skip

    def extend(self, lines, blocks, statements, values) -> None:
        """Many rows at once (already upper-case statements, no notes)."""
        n = len(lines)
        self.cols["line"].extend(np.asarray(lines).tolist())
        self.cols["block"].extend(blocks)
        self.cols["statement"].extend(statements)
        self.cols["value"].extend(v if v else None for v in values)
        self.cols["note"].extend([None] * n)

    def add(self, i: int, block, statement: str, value, note=None) -> None:
        self.cols["line"].append(i + 1)
        self.cols["block"].append(block)
        self.cols["statement"].append(statement.upper())
        self.cols["value"].append(value if value else None)
        self.cols["note"].append(note)


def _operands(i: int, block: str, tokens: list[str], rows: _Rows, state: dict) -> None:
    """Split an operand list into rows; ``state`` carries the open sub-group across lines."""
    k = 0
    while k < len(tokens):
        tok = tokens[k]
        up = tok.upper()
        if up in END_WORDS:
            state["sub"] = None
            k += 1
            continue
        if up in ("KEEPALIVEOPTIONS",):
            state["sub"] = "KEEPALIVEOPTIONS"
            k += 1
            continue
        if up in SUBGROUPS:
            rows.add(i, block, up, None)
            state["sub"] = up
            k += 1
            continue
        sub = state.get("sub")
        if sub in SUBGROUPS and up not in SUBGROUPS[sub]:
            sub = state["sub"] = None
        where = block if not sub else (sub if sub == "KEEPALIVEOPTIONS" else f"{block} {sub}")
        args: list[str] = []
        k += 1
        if up in UNITS or up in TAKES_WORD:
            if k < len(tokens):
                args.append(tokens[k])
                k += 1
        while k < len(tokens) and _VALUE_LIKE.match(tokens[k]):
            args.append(tokens[k])
            k += 1
        rows.add(i, where, up, " ".join(args))


#: what any PROFILE statement name looks like (the longest IBM names are ~20 characters)
_STATEMENT_WORD = re.compile(r"[A-Z][A-Z0-9_@#$]{0,31}")


def _parse_profile(idx: np.ndarray, tok: list, rest: list, rows: _Rows, acct: Accounting,
                   carry: dict | None = None) -> dict:  # fmt: skip
    """The statement state machine runs over the statement lines only; the lines between
    them (PORT/HOME entries, block members, the bulk of a big profile) are assigned to
    the statement above them with array operations.

    ``carry`` is what the lines above the piece leave open (empty for a whole file): the
    open block (``block``), the context of the last statement line (``ctx``) and its open
    operand sub-group (``sub``). Returns the same for the end of these lines."""
    carry = carry or {}
    up_s = pl.Series(tok, dtype=pl.String).str.to_uppercase()
    is_end = up_s.is_in(list(END_WORDS))
    cand = np.flatnonzero((up_s.is_in(list(STATEMENTS)) | is_end).to_numpy())
    up = up_s.to_list()
    ctl: list[int] = []  # positions (into idx) of lines that set the context
    ctx: list[tuple[str, str] | None] = []  # the context each of them opens
    subs: list[str | None] = []  # the operand sub-group open after it
    layout: list[int] = []
    block: str | None = carry.get("block")
    for k in cand.tolist():
        i, u, r = int(idx[k]), up[k], rest[k]
        if block is not None:
            if u == BLOCKS[block]:
                block = None
                layout.append(i)
                ctl.append(k), ctx.append(None), subs.append(None)
            continue  # a statement word inside a block is a member line
        state: dict = {"sub": None}
        context: tuple[str, str] | None = None
        if u in OPERAND_STMTS or u == "KEEPALIVEOPTIONS":
            context = ("operands", u)
            state["sub"] = "KEEPALIVEOPTIONS" if u == "KEEPALIVEOPTIONS" else None
            _operands(i, u, (r or "").split(), rows, state)
            if not r:
                layout.append(i)
        elif u in BLOCKS:
            block = u
            context = ("block", u)
            rows.add(i, None, u, r) if r else layout.append(i)
        elif u in LISTS:
            context = ("list", u)
            rows.add(i, u, u, r) if r else layout.append(i)
        elif u.startswith("END"):
            layout.append(i)
        elif u == "INCLUDE":
            rows.add(i, None, u, r, note="INCLUDE not followed: parse the data set it names "
                     "as its own input")  # fmt: skip
        else:
            rows.add(i, None, u, r)
        ctl.append(k), ctx.append(context), subs.append(state["sub"])
    acct.layout(np.array(layout, dtype=np.int64))
    # every other line belongs to the last statement line above it
    ctl_a = np.array(ctl, dtype=np.int64)
    is_ctl = np.zeros(len(idx), dtype=bool)
    is_ctl[ctl_a] = True
    other = np.flatnonzero(~is_ctl)
    at = np.searchsorted(ctl_a, other, side="right") - 1
    # lines above the piece's first statement line (at == -1) take the carried context
    above = carry.get("ctx")
    kinds = np.array([c[0] if c else "" for c in [*ctx, above]], dtype=object)[at]
    names = np.array([c[1] if c else None for c in [*ctx, above]], dtype=object)[at]
    subs.append(carry.get("sub"))
    tok_s = pl.Series(tok, dtype=pl.String)
    rest_s = pl.Series(rest, dtype=pl.String)
    text_s = pl.select(
        pl.when(pl.lit(rest_s).is_null())
        .then(pl.lit(tok_s))
        .otherwise(pl.concat_str([pl.lit(tok_s), pl.lit(rest_s)], separator=" "))
    ).to_series()
    # block members and list entries: whole columns at once
    for kind, stmt, value in (("block", up_s, rest_s), ("list", None, text_s)):
        sel = other[kinds == kind]
        if not len(sel):
            continue
        name = names[kinds == kind].tolist()
        rows.extend(idx[sel] + 1, name, stmt.gather(sel).to_list() if stmt is not None else name,
                    value.gather(sel).to_list())  # fmt: skip
    # operand continuations and orphans: few lines, one by one
    rest_k = np.flatnonzero((kinds != "block") & (kinds != "list"))
    text_l = text_s.gather(other[rest_k]).to_list() if len(rest_k) else []
    for j, text in zip(rest_k.tolist(), text_l, strict=True):
        k, kind, name, a = int(other[j]), kinds[j], names[j], at[j]
        i = int(idx[k])
        if kind == "operands":
            state = {"sub": subs[a]}
            _operands(i, name, text.split(), rows, state)
            subs[a] = state["sub"]
        elif _PORT_ENTRY.match(text):
            rows.add(i, "PORT", "PORT", text, note="PORT entry without its PORT statement")
        elif not _STATEMENT_WORD.fullmatch(up[k]):
            acct.unrecognised(i, "not a PROFILE statement (a statement starts with a keyword)")
        else:
            rows.add(i, None, up[k], rest[k], note="statement not known to zdiag")
    # what stays open for the lines below: the block, the last statement's context and the
    # operand sub-group after its last continuation line
    last = len(ctx) - 1 if len(ctx) else -1
    return {"block": block, "ctx": ctx[last] if len(ctx) else above, "sub": subs[last]}


def _parse_policy(idx, tok, rest, opened, braces, rows: _Rows, acct: Accounting,
                  carry: dict | None = None) -> dict:  # fmt: skip
    """Policy Agent syntax: ``Type name`` then ``{ Parameter value … }``, nested.
    ``carry``: the enclosing statements (``stack``) and the statement waiting for its
    ``{`` (``pending``) left open above these lines; returns them for the lines below."""
    carry = carry or {}
    stack: list[str] = list(carry.get("stack", ()))
    pending: str | None = carry.get("pending")
    layout: list[int] = []
    for i, t, r, o, b in zip(idx.tolist(), tok, rest, opened, braces, strict=True):
        if b == "{":
            stack.append(pending or "?")
            pending = None
            layout.append(i)
            continue
        if b == "}":
            if stack:
                stack.pop()
            layout.append(i)
            continue
        parent = " / ".join(stack) or None
        note = None if r or stack else "top-level statement without a name"
        rows.add(i, parent, t, r, note=note)
        label = f"{t} {r}" if r else t
        if o:
            stack.append(label)
        else:
            pending = label
    acct.layout(np.array(layout, dtype=np.int64))
    return {"stack": stack, "pending": pending}


def parse(lines: list[str], acct: Accounting) -> dict[str, pd.DataFrame]:
    return parse_chunk(lines, acct, {})[0]


def parse_chunk(lines, acct: Accounting, state: dict) -> tuple[dict[str, pd.DataFrame], dict]:
    """Parse one piece of a profile (or policy file) that the pipeline cut before a line
    that starts with a word (:data:`CHUNK_AT`). ``state`` carries what the lines above
    leave open: ``policy`` (a policy file: brace lines were seen), and for a profile the
    open block, the last statement's context and operand sub-group (``profile``), for a
    policy the enclosing statements (``policy_open``). Returns the tables (lines numbered
    within the piece) and the state for the next piece."""
    code, has_comment = cc.code_part(lines)
    todo = acct.status == UNMARKED
    empty = (code.str.strip_chars() == "").to_numpy()
    acct.layout(np.flatnonzero(todo & empty))  # comment-only (and blank after the cut)
    idx = np.flatnonzero(todo & ~empty)
    st = extract(code.gather(idx), row_regex(GRAMMAR, "statement_line"))
    br = extract(code.gather(idx), row_regex(GRAMMAR, "brace_line"))
    ok = st[MATCH_GROUP].is_not_null().to_numpy() | br[MATCH_GROUP].is_not_null().to_numpy()
    acct.unrecognised(idx[~ok], "not a statement line")
    keep = pl.Series(ok)
    idx = idx[ok]
    st, br = st.filter(keep), br.filter(keep)
    tok, rest = st["token"].to_list(), st["rest"].to_list()
    rows = _Rows()
    policy = bool(state.get("policy")) or bool(br[MATCH_GROUP].is_not_null().any())
    after = {**state, "policy": policy}
    if policy:
        braces = br["brace"].to_list()
        after["policy_open"] = _parse_policy(idx, tok, rest, st["open"].is_not_null().to_list(),
                                             braces, rows, acct, state.get("policy_open"))  # fmt: skip
    else:
        after["profile"] = _parse_profile(idx, tok, rest, rows, acct, state.get("profile"))
    if not rows.cols["line"]:
        return {}, after
    df = pl.DataFrame(
        {
            "line": pl.Series(rows.cols["line"], dtype=pl.Int64),
            **{k: pl.Series(rows.cols[k], dtype=pl.String) for k in ("block", "statement",
                                                                      "value", "note")},
        }
    ).sort("line", maintain_order=True)  # fmt: skip
    units = UNITS if not policy else {}
    kind = "policy" if policy else "profile"
    return {"config": cc.config_table(df, kind, units, acct, extra="note")}, after


#: where a large profile may be cut (zdiag.stream): a line that starts with a word (a
#: statement, an entry or a block member; what it needs from above is carried in the state)
CHUNK_AT = re.compile(rb"(?m)^[ \t]*[A-Za-z0-9]")


_FIRST = re.compile(r"^\s*([A-Za-z][A-Za-z0-9]*)\b")
_POLICY = re.compile(r"^\s*(TTLSRule|TTLSGroupAction|TTLSEnvironmentAction|TTLSConnectionAction|"
                     r"IpAddrGroup|PortGroup|TTLSKeyringParms|TTLSConfig|IpFilterRule)\b")  # fmt: skip


_REPORT = re.compile(r"(?i)\bnetstat\b|^\s*EZ[ABDZ]\d{4}I\b")


def detect(head: list[str]) -> float:
    stmts = [ln.split(";", 1)[0] for ln in head if ln.split(";", 1)[0].strip()]
    if not stmts:
        return 0.0
    if any(_REPORT.search(ln) for ln in stmts):
        return 0.0  # a netstat report prints DEVICE/LINK words too
    if any(_POLICY.match(ln) for ln in stmts) and any(ln.strip() == "{" for ln in stmts):
        return 0.7
    firsts = [m.group(1).upper() for ln in stmts if (m := _FIRST.match(ln))]
    known = sum(1 for f in firsts if f in STATEMENTS or f in END_WORDS)
    entries = sum(1 for ln in stmts if _PORT_ENTRY.match(ln.strip()))
    frac = (known + entries) / len(stmts)
    if known >= 1 and frac >= 0.3:
        return 0.75
    return 0.0


register(
    Kind(
        name="config.profile",
        description="TCPIP PROFILE statements (TCPCONFIG, GLOBALCONFIG, IPCONFIG, PORT, HOME, "
        "routes, VIPADYNAMIC …) and Policy Agent AT-TLS policy statements",
        tables=("config",),
        detect=detect,
        parse=parse,
        grammar=GRAMMAR,
        samples=(
            "config/profile_tcpip_samprof_site_claw_zos1x.txt",
            "config/profile_fragment_port_bind_vipadynamic_hercules_209.txt",
        ),  # fmt: skip
        extra={
            "lines": "series",
            # large profiles are parsed piece by piece; see zdiag.stream
            "chunk_marker": CHUNK_AT,
            "parse_chunk": parse_chunk,
        },
        path="comments and sequence numbers cut and lines split by the grammar's row pattern "
        "(polars); statements folded by a state machine over statement lines",
    )
)
