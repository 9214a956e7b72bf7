"""SARIF 2.1.0 (SPEC §6): one run, one rule per rule, one result per finding.

Levels map critical/high → ``error``, medium → ``warning``, low/info → ``note``; zdiag's own
level stays in ``properties.level``. Every evidence row becomes a location (artifact uri,
region startLine); the input files are the run's artifacts (length, sha-256, encoding);
files that failed or had unrecognised lines are reported as tool notifications.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from urllib.parse import quote

import pandas as pd

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
LEVEL_MAP = {"critical": "error", "high": "error", "medium": "warning", "low": "note",
             "info": "note"}  # fmt: skip


def sarif_level(level) -> str:
    return LEVEL_MAP.get(str(level), "note")


def artifact_uri(source: str) -> str:
    """A URI reference for a source as zdiag names it: relative paths stay relative (with
    ``/``), absolute ones become ``file://`` URIs; ``archive!member`` keeps its ``!``."""
    text = str(source).replace("\\", "/")
    if re.match(r"^[A-Za-z]:/", text) or text.startswith("/"):
        prefix = "file:///" if not text.startswith("/") else "file://"
        return prefix + quote(text, safe="/:!")
    return quote(str(PurePosixPath(text)), safe="/!")


def _rule_name(rule_id: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", rule_id) if p)


def _clean(value):
    """JSON-ready scalars: NA/NaN → None, timestamps → ISO text, numpy → Python."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        try:
            return _clean(value.item())
        except (ValueError, AttributeError):
            pass
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _as_list(value) -> list:
    """A list-like cell (list, tuple, numpy array after a parquet round trip) as a list."""
    if isinstance(value, list | tuple):
        return list(value)
    if hasattr(value, "tolist") and not isinstance(value, str | bytes):
        out = value.tolist()
        return out if isinstance(out, list) else []
    return []


def _text(value) -> str:
    v = _clean(value)
    return "" if v is None else str(v)


def _rule_entry(meta: Mapping) -> dict:
    rid = str(meta.get("id"))
    refs = [str(r) for r in _as_list(meta.get("references"))]
    title = _text(meta.get("title")) or rid
    desc = _text(meta.get("description")) or title
    remedy = _text(meta.get("remedy"))
    help_text = remedy or desc
    if refs:
        help_text += "\nReferences: " + "; ".join(refs)
    help_md = (f"**Remedy.** {remedy}\n\n" if remedy else "") + (
        "**References.** " + "; ".join(refs) if refs else ""
    )
    entry = {
        "id": rid,
        "name": _rule_name(rid) or rid,
        "shortDescription": {"text": title},
        "fullDescription": {"text": desc},
        "help": {"text": help_text, "markdown": help_md or help_text},
        "defaultConfiguration": {"level": sarif_level(meta.get("level"))},
        "properties": {
            "level": _text(meta.get("level")),
            "references": refs,
            "tags": ["zdiag", _text(meta.get("level"))],
        },  # fmt: skip
    }
    return entry


def _location(uri: str, line, index: int | None, table: str | None, loc_id: int) -> dict:
    phys: dict = {"artifactLocation": {"uri": uri}}
    if index is not None:
        phys["artifactLocation"]["index"] = index
    line = _clean(line)
    if isinstance(line, int) and line >= 1:
        phys["region"] = {"startLine": line}
    loc = {"id": loc_id, "physicalLocation": phys}
    if table:
        loc["message"] = {"text": f"{table} row"}
    return loc


def build_sarif(findings: pd.DataFrame, rules_meta: Sequence[Mapping],
                tables: Mapping[str, pd.DataFrame] | None = None) -> dict:  # fmt: skip
    """The SARIF log as a dict (see :func:`write_sarif`)."""
    from zdiag import __version__

    tables = tables or {}
    rules_meta = list(rules_meta or [])
    known = {str(m.get("id")) for m in rules_meta}
    # a finding whose rule is not in rules_meta still gets a rule entry
    extra = []
    if findings is not None and len(findings):
        for rid, title, level in (
            findings[["rule_id", "title", "level"]].drop_duplicates("rule_id").to_numpy().tolist()
        ):
            if str(rid) not in known:
                extra.append({"id": str(rid), "title": title, "level": level})
                known.add(str(rid))
    metas = rules_meta + extra
    rules = [_rule_entry(m) for m in metas]
    rule_index = {r["id"]: i for i, r in enumerate(rules)}

    files = tables.get("files") if "files" in tables else None
    artifacts, art_index, notes = [], {}, []
    if files is not None and len(files):
        recs = files.astype(object).where(files.notna(), None).to_dict("records")  # per file
        for rec in recs:
            src = _text(rec.get("source"))
            if not src or src in art_index:
                continue
            art = {"location": {"uri": artifact_uri(src)}}
            if _clean(rec.get("bytes")) is not None:
                art["length"] = int(rec["bytes"])
            if rec.get("sha256"):
                art["hashes"] = {"sha-256": str(rec["sha256"])}
            if rec.get("encoding"):
                art["encoding"] = str(rec["encoding"])
            art["properties"] = {k: _clean(rec.get(k)) for k in
                                 ("case", "kind", "lines", "parsed", "layout", "unrecognised")}  # fmt: skip
            art_index[src] = len(artifacts)
            artifacts.append(art)
            where = {"physicalLocation": {"artifactLocation": {"uri": artifact_uri(src),
                                                                "index": art_index[src]}}}  # fmt: skip
            if rec.get("error"):
                line = _clean(rec.get("error_line"))
                if isinstance(line, int) and line >= 1:
                    where["physicalLocation"]["region"] = {"startLine": line}
                notes.append({"level": "error", "message": {"text": f"{src}: {rec['error']}"},
                              "locations": [where]})  # fmt: skip
            unrec = _clean(rec.get("unrecognised"))
            if unrec:
                notes.append({"level": "warning", "locations": [where], "message": {
                    "text": f"{src}: {unrec} unrecognised lines (see the unrecognised table)"}})  # fmt: skip

    results = []
    if findings is not None and len(findings):
        cols = {c: findings[c].astype(object).where(findings[c].notna(), None).tolist()
                for c in findings.columns}  # fmt: skip
        for i in range(len(findings)):  # one result per finding: the output's own size
            rid = str(cols["rule_id"][i])
            source = _text(cols["source"][i])
            evidence = _as_list(cols.get("evidence", [None] * len(findings))[i])
            locs, seen = [], set()
            for e in evidence:
                if not isinstance(e, Mapping):
                    continue
                src = _text(e.get("source")) or source
                key = (src, _clean(e.get("line")))
                if key in seen:
                    continue
                seen.add(key)
                locs.append(_location(artifact_uri(src), e.get("line"), art_index.get(src),
                                      _text(e.get("table")) or None, len(locs)))  # fmt: skip
            if not locs and source:
                lines = _as_list(cols.get("lines", [None] * len(findings))[i])
                lines = lines or [cols["line"][i]]
                for ln in dict.fromkeys(lines):
                    locs.append(_location(artifact_uri(source), ln, art_index.get(source),
                                          None, len(locs)))  # fmt: skip
            fp = hashlib.sha256(
                "\x1f".join([rid, _text(cols["case"][i]), source, _text(cols["key"][i])]).encode()
            ).hexdigest()
            result = {
                "ruleId": rid,
                "ruleIndex": rule_index[rid],
                "level": sarif_level(cols["level"][i]),
                "message": {"text": _text(cols["message"][i]) or _text(cols["title"][i]) or rid},
                "locations": locs,
                "partialFingerprints": {"zdiagFinding/v1": fp},
                "properties": {
                    "level": _text(cols["level"][i]),
                    "case": _text(cols["case"][i]),
                    "key": _text(cols["key"][i]),
                    "first_ts": _clean(cols["first_ts"][i]),
                    "last_ts": _clean(cols["last_ts"][i]),
                    "references": [str(r) for r in _as_list(cols["references"][i])],
                    "remedy": _text(cols["remedy"][i]),
                },
            }
            results.append(result)

    run = {
        "tool": {
            "driver": {
                "name": "zdiag",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": rules,
            }
        },  # fmt: skip
        "artifacts": artifacts,
        "results": results,
        "invocations": [
            {"executionSuccessful": True, "toolExecutionNotifications": notes}
        ],  # fmt: skip
        "columnKind": "unicodeCodePoints",
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def write_sarif(path, findings: pd.DataFrame, rules_meta: Sequence[Mapping],
                tables: Mapping[str, pd.DataFrame] | None = None) -> Path | None:  # fmt: skip
    """Write SARIF 2.1.0 to ``path`` (``-`` for standard output)."""
    log = build_sarif(findings, rules_meta, tables)
    # indented for people when small; compact when big (json's C encoder only runs
    # without indent, and the file is for machines then)
    n_locs = sum(len(r["locations"]) for r in log["runs"][0]["results"])
    indent = 2 if n_locs <= 20_000 else None
    text = json.dumps(log, indent=indent, ensure_ascii=False, default=str) + "\n"
    if str(path) == "-":
        import sys

        sys.stdout.write(text)
        return None
    Path(path).write_text(text, encoding="utf-8")
    return Path(path)
