"""Kind ``config.ftpdata``: FTP.DATA statements (and the FTP server's MODIFY DEBUG command).

Table ``config``: one row per statement: ``kind`` = ``ftpdata``, ``block`` (empty, or
``MODIFY`` for an operator command, with its target job in ``target``), ``statement``
(upper case), ``value`` as written, ``value_num`` and ``unit``. Timers are reported in
seconds (``DSWAITTIME`` is written in minutes and converted); sizes accept K/M.
A value that is not a number where the statement takes one keeps its row with
``value_num`` null and the line is reported unrecognised with the reason.

Grammar: grammars/config_ftpdata.lark. Path: comments and sequence numbers cut with polars,
then the statement rules' row patterns over all lines at once (vectorised).
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

GRAMMAR = "config_ftpdata"

#: statements whose value must be a number, and its unit (IP Configuration Reference
#: FTP.DATA statements; FORMATS §3.1; the FTPSDATA sample's own comments)
UNITS = {
    "DATACTTIME": "s", "DCONNTIME": "s", "INACTTIME": "s", "INACTIVE": "s",
    "FTPKEEPALIVE": "s", "DATAKEEPALIVE": "s", "DATATIMEOUT": "s", "TLSTIMEOUT": "s",
    "DSWAITTIME": "min", "BUFNO": "count", "CHKPTINT": "records", "RETPD": "days",
    "BLKSIZE": "bytes", "BLOCKSIZE": "bytes", "LRECL": "bytes", "JESLRECL": "bytes",
    "DIRECTORY": "blocks",
}  # fmt: skip
#: values that look numeric but are not quantities
WORDS = frozenset({"UMASK"})

#: FTP.DATA statement names (for detection only; any `KEYWORD value` line is parsed)
KNOWN = frozenset(
    """
ACCESSERRORMSGS ANONYMOUS ANONYMOUSFILEACCESS ANONYMOUSFILETYPEJES ANONYMOUSFILETYPESEQ
ANONYMOUSFILETYPESQL ANONYMOUSFTPLOGGING ANONYMOUSHFSDIRMODE ANONYMOUSHFSFILEMODE
ANONYMOUSHFSINFO ANONYMOUSLEVEL ANONYMOUSMVSINFO ASATRANS AUTHLEVEL AUTOMOUNT AUTORECALL
AUTOTAPEMOUNT BANNER BLKSIZE BLOCKSIZE BUFNO CCONNTIME CCTRANS CHKPTINT CHKPTPREFIX CIPHERSUITE
CONDDISP CTRLCONN DATACLASS DATACTTIME DATAKEEPALIVE DATASETMODE DATATIMEOUT DB2 DB2PLAN
DBSUB DCBDSN DCONNTIME DEBUG DEBUGONSITE DEST DIRECTORY DIRECTORYMODE DSNTYPE DSWAITTIME
DUMP DUMPONSITE EATTR ENCODING EPSV4 EXTENSIONS FIFOIOTIME FIFOOPENTIME FILETYPE
FTPKEEPALIVE FTPLOGGING INACTIVE INACTTIME ISPFSTATS JESENTRYLIMIT JESGETBYDSN
JESINTERFACELEVEL JESLRECL JESPUTGETTO JESRECFM KEYRING LISTLEVEL LISTSUBDIR LOGINMSG
LRECL MBDATACONN MBREQUIRELASTEOL MBSENDEOL MGMTCLASS MIGRATEVOL MVSINFO MVSURLKEY
PASSIVEDATACONN PASSIVEDATAPORTS PASSIVEIGNOREADDR PDSTYPE PORTCOMMAND PORTCOMMANDIPADDR
PORTCOMMANDPORT PRIMARY QUOTESOVERRIDE RDW READSTAPEFORMAT RECFM REMOVEINBEOF REPLYSECURITYLEVEL
RESTPROTECT RETPD SBDATACONN SBSENDEOL SBSUB SBSUBCHAR SECONDARY SECURE_CTRLCONN
SECURE_DATACONN SECURE_FTP SECURE_HOSTNAME SECURE_LOGIN SECURE_PASSWORD SECURE_PBSZ
SECUREIMPLICITZOS SECURE_PASSWORD_KERBEROS SITESTRICT SMF SMFAPPE SMFDCFG SMFDEL SMFEXIT
SMFJES SMFLOGN SMFREN SMFRETR SMFSQL SMFSTOR SPACETYPE SPREAD SQLCOL SSLV3 STARTDIRECTORY
STORCLASS SUPPRESSIGNOREWARNINGS TAPEREADSTREAM TLSMECHANISM TLSPORT TLSRFCLEVEL TLSTIMEOUT
TRACE TRAILINGBLANKS TRUNCATE UCOUNT UCSHOSTCS UCSSUB UCSTRUNC UMASK UNICODEFILESYSTEMBOM
UNITNAME VCOUNT VOLUME WLMCLUSTERNAME WRAPRECORD WRTAPEFASTIO XLATE
""".split()
)


def parse(lines: list[str], acct: Accounting) -> dict[str, pd.DataFrame]:
    return parse_chunk(lines, acct, {})[0]


def parse_chunk(lines, acct: Accounting, state: dict) -> tuple[dict[str, pd.DataFrame], dict]:
    """Parse one piece of an FTP.DATA file (the pipeline cuts it before a line that starts
    a statement, :data:`CHUNK_AT`). Every statement and MODIFY command is one line and
    typing a value needs nothing from the lines before, so ``state`` carries nothing; the
    tables' lines are numbered within the piece."""
    return _parse(lines, acct), state


def _parse(lines, acct: Accounting) -> dict[str, pd.DataFrame]:
    code, has_comment = cc.code_part(lines)
    todo = acct.status == UNMARKED
    empty = (code.str.strip_chars() == "").to_numpy()
    acct.layout(np.flatnonzero(todo & empty & has_comment))  # comment-only lines
    parts: list[pl.DataFrame] = []
    remaining = todo & ~empty
    for rule in ("modify_line", "statement_line"):
        idx = np.flatnonzero(remaining)
        if not len(idx):
            break
        got = extract(code.gather(idx), row_regex(GRAMMAR, rule))
        hit = got[MATCH_GROUP].is_not_null().to_numpy()
        pos = idx[hit]
        remaining[pos] = False
        if not len(pos):
            continue
        g = got.filter(pl.Series(hit))
        modify = rule == "modify_line"
        parts.append(
            pl.DataFrame(
                {
                    "line": pl.Series(pos + 1, dtype=pl.Int64),
                    "block": pl.Series(
                        [("MODIFY" if modify else None)] * len(pos), dtype=pl.String
                    ),
                    "statement": g["keyword"].str.to_uppercase(),
                    "value": g["value"],
                    "target": g["jobname"]
                    if modify
                    else pl.Series([None] * len(pos), dtype=pl.String),
                }
            )
        )
    acct.unrecognised(np.flatnonzero(remaining), "not an FTP.DATA statement (KEYWORD value)")
    if not parts:
        return {}
    df = pl.concat(parts).sort("line")
    return {"config": cc.config_table(df, "ftpdata", UNITS, acct, WORDS, extra="target")}


#: where a large file may be cut (zdiag.stream): a line that starts with a keyword (a
#: statement or a MODIFY command), never a comment or sequence-number-only line
CHUNK_AT = re.compile(rb"(?m)^[ \t]*[A-Za-z]")

_STMT = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)\b")
_MODIFY = re.compile(r"^\s*(?:F|MODIFY)\s+[A-Za-z0-9@#$_]+,\s*DEBUG=", re.I)


def detect(head: list[str]) -> float:
    stmts = [ln.split(";", 1)[0] for ln in head if ln.split(";", 1)[0].strip()]
    if not stmts:
        return 0.0
    if sum(1 for ln in stmts if _MODIFY.match(ln)) / len(stmts) >= 0.5:
        return 0.6
    known = sum(1 for ln in stmts if (m := _STMT.match(ln)) and m.group(1).upper() in KNOWN)
    frac = known / len(stmts)
    return 0.8 if frac >= 0.5 else 0.0


register(
    Kind(
        name="config.ftpdata",
        description="FTP.DATA statements (FTP server/client configuration) and the FTP "
        "server's MODIFY DEBUG command; timers typed in seconds",
        tables=("config",),
        detect=detect,
        parse=parse,
        grammar=GRAMMAR,
        samples=(
            "config/seed004_ftpdata_timers.txt",
            "config/ftpdata_ftpsdata_sample_csv1r2_site_section1.txt",
        ),  # fmt: skip
        extra={
            "lines": "series",
            # large files are cut before a statement line and parsed piece by piece
            "chunk_marker": CHUNK_AT,
            "parse_chunk": parse_chunk,
        },
        path="comments and sequence numbers cut with polars; statement rows: grammar row "
        "patterns, polars (vectorised)",
    )
)
