"""The terminal report: findings sorted by level (critical first), then one accounting line
per file. Colour only when writing to a terminal (and never with ``NO_COLOR`` set)."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping

import pandas as pd

LEVELS = ("critical", "high", "medium", "low", "info")
RANK = {lvl: i for i, lvl in enumerate(LEVELS)}
COLOURS = {"critical": "\x1b[1;97;41m", "high": "\x1b[1;31m", "medium": "\x1b[33m",
           "low": "\x1b[36m", "info": "\x1b[2m"}  # fmt: skip
RESET = "\x1b[0m"


def use_colour(stream) -> bool:
    """Colour only on a TTY, and not when ``NO_COLOR`` is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _s(value) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float) and value != value:
        return ""
    # one line per cell: control characters from inputs must not move the cursor
    return "".join(c if c.isprintable() else " " for c in str(value))


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def _cut_left(text: str, width: int) -> str:
    """Cut a path from the left so the file name and line number stay visible."""
    return text if len(text) <= width else "…" + text[len(text) - width + 1 :]


def accounting_line(row: Mapping) -> str:
    """One line per file: kind, encoding and where every line went (as ``zdiag parse``)."""
    text = (
        f"{_s(row.get('source'))}: {_s(row.get('kind'))}"
        + (f" ({_s(row.get('encoding'))})" if _s(row.get("encoding")) else "")
        + f" lines={_s(row.get('lines'))} parsed={_s(row.get('parsed'))}"
        f" layout={_s(row.get('layout'))} unrecognised={_s(row.get('unrecognised'))}"
    )
    if _s(row.get("error")):
        line = _s(row.get("error_line"))
        text += f" ERROR{' at line ' + line if line else ''}: {_s(row.get('error'))}"
    return text


def render(findings: pd.DataFrame | None, files: pd.DataFrame | None = None, *,
           colour: bool = False, width: int | None = None, min_level: str | None = None) -> str:  # fmt: skip
    """The report as text. ``min_level`` hides findings less severe than it."""
    width = width or shutil.get_terminal_size((120, 24)).columns
    out: list[str] = []
    f = findings if findings is not None else pd.DataFrame()
    if len(f):
        rank = f["level"].astype(object).map(RANK).fillna(len(LEVELS)).astype(int)
        keep = rank <= RANK.get(str(min_level), len(LEVELS)) if min_level else rank >= 0
        order = pd.DataFrame(
            {"rank": rank, "rule": f["rule_id"].astype(str), "source": f["source"].astype(str),
             "line": pd.to_numeric(f["line"], errors="coerce").fillna(0)}
        )[keep].sort_values(["rank", "rule", "source", "line"], kind="stable")  # fmt: skip
        rows = f.loc[order.index]
        level = rows["level"].map(_s).tolist()
        rule = rows["rule_id"].map(_s).tolist()
        where = [
            f"{_s(s)}:{_s(ln)}" if _s(ln) else _s(s)
            for s, ln in zip(rows["source"].tolist(), rows["line"].tolist(), strict=True)
        ]
        msg = rows["message"].map(_s).tolist()
        # columns share the width: rule and where get what they need up to a share,
        # the message takes the rest (at least 10 characters)
        avail = max(width - 14, 30)
        w_rule = min(max([4] + [len(r) for r in rule]), max(12, avail // 4))
        w_where = min(max([5] + [len(x) for x in where]), max(16, (avail - w_rule) // 2))
        w_msg = max(avail - w_rule - w_where, 10)
        out.append(f"{'LEVEL':<8}  {'RULE':<{w_rule}}  {'WHERE':<{w_where}}  MESSAGE")
        for lv, r, wh, m in zip(level, rule, where, msg, strict=True):
            tag = f"{lv:<8}"
            if colour and lv in COLOURS:
                tag = f"{COLOURS[lv]}{lv}{RESET}" + " " * (8 - len(lv))
            out.append(f"{tag}  {_cut(r, w_rule):<{w_rule}}  {_cut_left(wh, w_where):<{w_where}}  "
                       f"{_cut(m, w_msg)}")  # fmt: skip
        counts = rows["level"].astype(str).value_counts()
        out.append(
            f"{len(rows)} findings: "
            + ", ".join(f"{int(counts.get(lv, 0))} {lv}" for lv in LEVELS if counts.get(lv, 0))
        )
        hidden = len(f) - len(rows)
        if not len(rows):
            out[-2:] = [f"no findings at or above {min_level}"]
        if hidden:
            out[-1] += f" ({hidden} below {min_level} not shown)"
    else:
        out.append("no findings")
    if files is not None and len(files):
        out.append("")
        recs = files.astype(object).where(files.notna(), None).to_dict("records")
        out.extend(accounting_line(r) for r in recs)  # one per file
    return "\n".join(out) + "\n"


def print_report(findings, files=None, *, stream=None, min_level: str | None = None) -> None:
    """Print :func:`render` to ``stream`` (standard output), coloured on a terminal."""
    stream = stream or sys.stdout
    stream.write(render(findings, files, colour=use_colour(stream), min_level=min_level))


def disagreement_lines(dis: pd.DataFrame | None) -> list[str]:
    """Per file, IBM's F letters beside zdiag's own classes where either flagged a packet:
    ``letter ibm/zdiag/both`` (e.g. ``r 5/5/5``: IBM and zdiag agree on 5 retransmissions)."""
    if dis is None or not len(dis):
        return []
    d = dis[(dis["ibm_count"] > 0) | (dis["zdiag_count"] > 0)]
    out = []
    for source, g in d.groupby(d["source"].astype(str), sort=False):
        parts = [f"{r['ibm_letter']} {int(r['ibm_count'])}/{int(r['zdiag_count'])}/{int(r['both'])}"
                 for r in g.to_dict("records")]  # fmt: skip
        total = int(g["disagreements"].sum())
        out.append(f"{source}: IBM letter vs zdiag (ibm/zdiag/both): {', '.join(parts)}; "
                   f"{total} packet classification{'s' * (total != 1)} differ{'' if total != 1 else 's'}")  # fmt: skip
    return out
