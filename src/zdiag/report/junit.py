"""JUnit XML for CI dashboards (Jenkins, GitLab): a testsuite per input file, a testcase per
rule, a ``<failure>`` per finding at or above ``fail_on``.

Findings below ``fail_on`` do not fail the testcase; every finding of the rule is also
listed in the testcase's ``<system-out>`` (dashboards show only a testcase's first
failure). A file that could not be parsed gets one extra ``parse`` testcase with an
``<error>``. Built with the standard library's ElementTree, which escapes markup; the
characters XML 1.0 cannot carry at all (most C0 controls, lone surrogates) are written as
``\\xNN`` text first.

``classname`` is the file's path with ``/`` as ``.`` (so Jenkins shows folder → file →
rule), ``name`` is the rule id.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

LEVELS = ("critical", "high", "medium", "low", "info")
RANK = {lvl: i for i, lvl in enumerate(LEVELS)}
NO_FILE = "(no file)"
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_text(value) -> str:
    """``value`` as text XML 1.0 can hold: illegal characters become ``\\xNN``."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float) and value != value:
        return ""
    return _XML_ILLEGAL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


def at_or_above(level, fail_on: str) -> bool:
    """True when ``level`` is as severe as ``fail_on`` or more (critical is the most);
    ``never`` fails nothing."""
    if str(fail_on) == "never":
        return False
    return RANK.get(str(level), len(LEVELS)) <= RANK.get(str(fail_on), 1)


def _classname(case: str, source: str) -> str:
    path = source.replace("\\", "/").strip("/")
    parts = [p.replace(".", "_") for p in path.split("/") if p] or ["input"]
    return ".".join(([case.replace(".", "_")] if case else []) + parts)


def _finding_text(rec: Mapping) -> str:
    where = rec["source"] + (f":{rec['line']}" if rec["line"] not in ("", None) else "")
    lines = [f"{rec['level']} {rec['rule_id']} at {where}", rec["message"]]
    if rec["key"]:
        lines.append(f"key: {rec['key']}")
    if rec["lines"]:
        lines.append(f"lines: {rec['lines']}")
    if rec["remedy"]:
        lines.append(f"remedy: {rec['remedy']}")
    if rec["references"]:
        lines.append(f"references: {rec['references']}")
    return "\n".join(lines)


def _joined(value) -> str:
    if isinstance(value, list | tuple) or (hasattr(value, "tolist") and not isinstance(value, str)):
        seq = value.tolist() if hasattr(value, "tolist") else value
        return ", ".join(str(v) for v in seq) if isinstance(seq, list) else str(seq)
    return xml_text(value)


def build_junit(findings: pd.DataFrame, rules_meta: Sequence[Mapping], files: pd.DataFrame,
                fail_on: str = "high") -> ET.ElementTree:  # fmt: skip
    """The JUnit document (see :func:`write_junit`)."""
    rule_ids = [str(m.get("id")) for m in rules_meta or []]
    titles = {str(m.get("id")): xml_text(m.get("title")) for m in rules_meta or []}
    # findings as plain records grouped by file; one pass, the output's own size
    by_file: dict[tuple[str, str], dict[str, list[dict]]] = {}
    if findings is not None and len(findings):
        f = findings
        recs = pd.DataFrame(
            {
                "case": f["case"].astype(object).map(xml_text),
                "source": f["source"].astype(object).map(xml_text),
                "line": f["line"].astype(object).map(xml_text),
                "rule_id": f["rule_id"].astype(object).map(xml_text),
                "level": f["level"].astype(object).map(xml_text),
                "title": f["title"].astype(object).map(xml_text),
                "message": f["message"].astype(object).map(xml_text),
                "key": f["key"].astype(object).map(xml_text),
                "remedy": f["remedy"].astype(object).map(xml_text),
                "lines": f["lines"].astype(object).map(_joined).map(xml_text),
                "references": f["references"].astype(object).map(_joined).map(xml_text),
            }
        ).to_dict("records")
        for rec in recs:
            by_file.setdefault((rec["case"], rec["source"] or NO_FILE), {}).setdefault(
                rec["rule_id"], []
            ).append(rec)
            if rec["rule_id"] not in titles:
                rule_ids.append(rec["rule_id"])
                titles[rec["rule_id"]] = rec["title"]

    file_rows: list[dict] = []
    if files is not None and len(files):
        fr = files.astype(object).where(files.notna(), None)
        file_rows = fr.to_dict("records")
    seen = {(xml_text(r.get("case")), xml_text(r.get("source"))) for r in file_rows}
    for key in by_file:
        if key not in seen:
            file_rows.append({"case": key[0], "source": key[1]})
            seen.add(key)

    root = ET.Element("testsuites", name="zdiag")
    totals = {"tests": 0, "failures": 0, "errors": 0, "time": 0.0}
    for row in file_rows:
        case, source = xml_text(row.get("case")), xml_text(row.get("source")) or NO_FILE
        suite_name = f"{case}:{source}" if case else source
        suite = ET.SubElement(root, "testsuite", name=suite_name)
        classname = _classname(case, source)
        props = ET.SubElement(suite, "properties")
        for k in ("kind", "encoding", "lines", "parsed", "layout", "unrecognised", "sha256"):
            if row.get(k) is not None:
                ET.SubElement(props, "property", name=k, value=xml_text(row.get(k)))
        tests = failures = errors = 0
        if row.get("error"):
            tc = ET.SubElement(suite, "testcase", classname=classname, name="parse", time="0")
            line = row.get("error_line")
            where = f"{source}:{line}" if line is not None else source
            err = ET.SubElement(tc, "error", message=xml_text(row["error"]), type="input")
            err.text = xml_text(f"{where}: {row['error']}")
            tests, errors = tests + 1, errors + 1
        hits = by_file.get((case, source), {})
        for rid in rule_ids:
            tc = ET.SubElement(suite, "testcase", classname=classname, name=rid, time="0")
            tests += 1
            failing = [r for r in hits.get(rid, []) if at_or_above(r["level"], fail_on)]
            quiet = [r for r in hits.get(rid, []) if not at_or_above(r["level"], fail_on)]
            for rec in failing:
                el = ET.SubElement(tc, "failure", message=rec["message"] or titles.get(rid, rid),
                                   type=f"{rec['level']}")  # fmt: skip
                el.text = _finding_text(rec)
            if failing:
                failures += 1
            if failing or quiet:
                # every finding of the rule, also as text: Jenkins and GitLab show only
                # the first <failure> of a testcase, but print system-out in full
                out = ET.SubElement(tc, "system-out")
                out.text = "\n\n".join(_finding_text(r) for r in failing + quiet)
        seconds = row.get("seconds")
        secs = float(seconds) if isinstance(seconds, int | float) and seconds == seconds else 0.0
        suite.set("tests", str(tests))
        suite.set("failures", str(failures))
        suite.set("errors", str(errors))
        suite.set("skipped", "0")
        suite.set("time", f"{secs:.3f}")
        totals["tests"] += tests
        totals["failures"] += failures
        totals["errors"] += errors
        totals["time"] += secs
    for k in ("tests", "failures", "errors"):
        root.set(k, str(totals[k]))
    root.set("time", f"{totals['time']:.3f}")
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(path, findings: pd.DataFrame, rules_meta: Sequence[Mapping],
                files: pd.DataFrame, fail_on: str = "high") -> Path | None:  # fmt: skip
    """Write JUnit XML to ``path`` (``-`` for standard output)."""
    tree = build_junit(findings, rules_meta, files, fail_on)
    if str(path) == "-":
        import sys

        sys.stdout.write(ET.tostring(tree.getroot(), encoding="unicode", xml_declaration=True))
        sys.stdout.write("\n")
        return None
    tree.write(str(path), encoding="utf-8", xml_declaration=True)
    return Path(path)
