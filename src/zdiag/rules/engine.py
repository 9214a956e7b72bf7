"""The rules engine: where → condition → group_by + having → sequence → correlate → findings.

Everything works on whole columns: selections are numpy masks, groups come from one
``groupby``, sequences are found by running one regular expression over a string with one
character per candidate row (its set of matching steps), and findings are assembled from
column arrays. Python loops run over rules, steps and findings, never over input rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from zdiag import tables as T
from zdiag.kinds.base import FAILURES
from zdiag.rules.condition import Compiler, ConditionError, Frame
from zdiag.rules.model import AGG_PLACEHOLDER, LEVEL_RANK, Rule, placeholders

#: Timestamp columns, in order of preference, that give findings their first/last_ts and
#: order rows for ``sequence``, ``first`` and ``last``.
TIME_COLUMNS = ("ts", "snapshot_ts", "first_ts", "last_ts")
#: Evidence entries kept per finding and table (``lines`` keeps them all).
MAX_EVIDENCE = 1000
#: Steps a sequence may have.
MAX_STEPS = 8


class RuleRuntimeError(Exception):
    """A rule that cannot run on the tables at hand (recorded, never fatal to a scan)."""


@dataclass
class RuleError:
    rule_id: str
    file: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: rule {self.rule_id}: {self.message}"


def time_column(df: pd.DataFrame) -> str | None:
    for c in TIME_COLUMNS:
        if c in df.columns and pd.api.types.is_datetime64_any_dtype(df[c].dtype):
            return c
    return None


def _duration(text: str) -> pd.Timedelta:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*", text)
    unit = {"ms": "ms", "s": "s", "m": "min", "h": "h", "d": "D"}[m.group(2)]
    return pd.Timedelta(float(m.group(1)), unit=unit)


def _check_columns(df: pd.DataFrame, names, what: str) -> None:
    missing = [c for c in names if c not in df.columns]
    if missing:
        raise RuleRuntimeError(f"{what}: table has no column {', '.join(map(repr, missing))}")


# --------------------------------------------------------------------------- context


class Context:
    """The tables of one scan plus what rules share: each table with a plain RangeIndex,
    and integer codes of the columns rules group on (factorised once, not once per rule)."""

    def __init__(self, tableset):
        self.tableset = tableset
        self._tables: dict[str, pd.DataFrame | None] = {}
        self._codes: dict[tuple[str, str], tuple[np.ndarray, int]] = {}
        self._combined: dict[tuple[str, tuple[str, ...]], np.ndarray] = {}

    def table(self, name: str) -> pd.DataFrame | None:
        if name not in self._tables:
            df = self.tableset.get(name) if hasattr(self.tableset, "get") else None
            if df is not None and not (
                isinstance(df.index, pd.RangeIndex) and df.index.start == 0 and df.index.step == 1
            ):
                df = df.reset_index(drop=True)
            self._tables[name] = df
        return self._tables[name]

    def codes(self, table: str, col: str) -> tuple[np.ndarray, int]:
        """Codes of a column (null gets its own code) and how many distinct codes."""
        key = (table, col)
        if key not in self._codes:
            codes, uniques = pd.factorize(self.table(table)[col], use_na_sentinel=False)
            self._codes[key] = (codes.astype(np.int64), len(uniques))
        return self._codes[key]

    def key_codes(self, table: str, cols) -> np.ndarray:
        """One int64 code per row for the combination of ``cols``."""
        key = (table, tuple(cols))
        if key not in self._combined:
            acc, _n = self.codes(table, cols[0])
            for col in cols[1:]:
                c, n = self.codes(table, col)
                acc = pd.factorize(acc * (n + 1) + c)[0].astype(np.int64)
            self._combined[key] = acc
        return self._combined[key]


def _context(tableset) -> Context:
    return tableset if isinstance(tableset, Context) else Context(tableset)


# --------------------------------------------------------------------------- run one rule


def _selections(rule: Rule, df: pd.DataFrame) -> tuple[Frame, np.ndarray]:
    """The rule's named selections over ``df`` and the mask of the rows it considers (its
    ``condition``, or any step of its ``sequence``)."""
    cols = set(df.columns)
    dtypes = dict(df.dtypes)
    frame = Frame(df)
    try:
        for name, text in rule.where.items():
            comp = Compiler(cols, set(frame.selections), dtypes=dtypes).compile(text)
            frame.selections[name] = comp.mask(frame)
        if rule.condition is not None:
            comp = Compiler(cols, set(frame.selections), dtypes=dtypes).compile(rule.condition)
            mask = comp.mask(frame)
        else:
            mask = np.zeros(len(df), dtype=bool)
            for step in rule.sequence:
                mask |= frame.selections[step.rstrip("+")]
    except ConditionError as exc:
        raise RuleRuntimeError(exc.message) from None
    except (KeyError, TypeError) as exc:
        raise RuleRuntimeError(str(exc).strip("'\"")) from None
    return frame, mask


def considered_rows(rule: Rule, df: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``df`` (the rule's source table, or a part of it) that the rule looks at:
    its findings over a table depend on these rows only, conditions being row by row. Lets
    :mod:`zdiag.rules.scan` run a rule over a table kept on disk, a part at a time."""
    if not len(df):
        return df
    return df.take(np.flatnonzero(_selections(rule, df)[1]))


def run_rule(rule: Rule, tableset) -> pd.DataFrame:
    """Findings of one rule over a TableSet (raises RuleRuntimeError when it cannot run)."""
    ctx = _context(tableset)
    df = ctx.table(rule.source)
    if df is None or len(df) == 0:
        return T.empty("findings")
    cols = set(df.columns)
    dtypes = dict(df.dtypes)
    frame, mask = _selections(rule, df)
    _check_columns(df, rule.group_by, "group_by")
    tcol = time_column(df)
    rows = np.flatnonzero(mask)
    if not len(rows):
        return T.empty("findings")
    # chronological order (then line) for first/last, sequences and evidence
    if tcol is not None:
        ts = df[tcol].to_numpy()[rows]
        line = (
            df["line"].to_numpy(dtype="int64", na_value=0)[rows]
            if "line" in cols
            else np.zeros(len(rows), dtype=np.int64)
        )
        rows = rows[np.lexsort((line, ts))]
    gframe = codes = keep = None
    if rule.group_by:
        codes, uniq = pd.factorize(ctx.key_codes(rule.source, rule.group_by)[rows])
        codes = codes.astype(np.int64)
        gframe = _group(ctx, rule, df, rows, codes, len(uniq), _aggregates_needed(rule),
                        frame.selections)  # fmt: skip
        keep = np.ones(len(gframe), dtype=bool)
        if rule.having is not None:
            try:
                hcomp = Compiler(
                    set(rule.group_by), having=True, agg_columns=cols | set(frame.selections),
                    dtypes=dtypes,
                ).compile(rule.having)  # fmt: skip
                keep = hcomp.mask(Frame(gframe))
            except ConditionError as exc:
                raise RuleRuntimeError("having: " + exc.message) from None
            except (KeyError, TypeError) as exc:
                raise RuleRuntimeError("having: " + str(exc).strip("'\"")) from None
    if rule.sequence:
        fid, frows, fgroup = _sequence(rule, ctx, df, frame, rows, codes, keep, tcol)
    elif rule.group_by:
        sel = keep[codes]
        frows, fgroup = rows[sel], codes[sel]
        order = np.argsort(fgroup, kind="stable")  # groups in order of first appearance
        frows, fgroup = frows[order], fgroup[order]
        fid = fgroup
    else:
        frows = rows
        fid = np.arange(len(rows))
        fgroup = None
    if not len(frows):
        return T.empty("findings")
    return _findings(rule, ctx, df, tcol, frows, fid, fgroup, gframe)


def _aggregates_needed(rule: Rule) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = [("count", None)]
    if rule.having:
        try:
            comp = Compiler(None, having=True)
            comp.compile(rule.having)
            out += comp.aggregates
        except ConditionError as exc:
            raise RuleRuntimeError("having: " + exc.message) from None
    for _off, name in placeholders(rule.message):
        m = AGG_PLACEHOLDER.match(name)
        if m:
            out.append((m.group(1), m.group(2)))
    seen, uniq = set(), []
    for a in out:
        if a not in seen:
            seen.add(a)
            uniq.append(a)
    return uniq


def _group(ctx, rule, df, rows, codes, ngroups, aggs, selections=None) -> pd.DataFrame:
    """Per-group table: the keys, ``count`` and one ``fn(col)`` column per aggregate.
    ``codes`` numbers the groups 0..ngroups-1 in order of first appearance. An aggregate
    may name one of the rule's selections (``where`` names shadow columns, as in
    conditions): a boolean per row, so ``sum(s)`` counts the group's rows in ``s`` and
    ``mean(s)`` is their share."""
    selections = selections or {}
    first = np.full(ngroups, len(codes), dtype=np.int64)
    np.minimum.at(first, codes, np.arange(len(codes)))
    out = {k: df[k].take(rows[first]).reset_index(drop=True) for k in rule.group_by}
    for fn, col in aggs:
        if fn == "count":
            out["count"] = pd.Series(np.bincount(codes, minlength=ngroups), dtype="Int64")
            continue
        if col in selections:
            values = pd.Series(np.asarray(selections[col], dtype=bool)[rows], dtype="boolean")
        elif col not in df.columns:
            raise RuleRuntimeError(f"{fn}({col}): table has no column {col!r}")
        else:
            values = df[col].take(rows).reset_index(drop=True)
        if fn == "nunique":
            if col in selections:
                c, _n = values.to_numpy(dtype=np.int64), 2
            else:
                ccodes, _n = ctx.codes(rule.source, col)
                c = ccodes[rows]
            notnull = values.notna().to_numpy()
            pairs = np.unique(codes[notnull] * (_n + 1) + c[notnull])
            val = pd.Series(np.bincount(pairs // (_n + 1), minlength=ngroups), dtype="Int64")
            out[f"nunique({col})"] = val
            continue
        if pd.api.types.is_bool_dtype(values.dtype) and fn in ("sum", "mean", "span"):
            values = values.astype("Int64")
        g = values.groupby(codes, sort=True)
        if fn == "span":
            if pd.api.types.is_string_dtype(values.dtype):
                raise RuleRuntimeError(f"span({col}): needs numbers or timestamps")
            val = g.max() - g.min()
            if pd.api.types.is_timedelta64_dtype(val.dtype):
                val = val.dt.total_seconds().astype("Float64")
        else:
            val = getattr(g, fn)()
        out[f"{fn}({col})"] = val.reindex(range(ngroups)).reset_index(drop=True)
    return pd.DataFrame(out)


def _sequence(rule, ctx, df, frame, rows, codes, keep, tcol):
    """Find ordered step matches per group; return (finding id, row, group) arrays."""
    steps = rule.sequence
    if len(steps) > MAX_STEPS:
        raise RuleRuntimeError(f"sequence: at most {MAX_STEPS} steps")
    if tcol is None:
        raise RuleRuntimeError("sequence: table has no timestamp column")
    names = [s.rstrip("+") for s in steps]
    bits = np.zeros(len(rows), dtype=np.int64)
    for i, name in enumerate(names):
        bits |= frame.selections[name][rows].astype(np.int64) << i
    part = np.zeros(len(rows), dtype=np.int64) if codes is None else codes.astype(np.int64)
    ok = bits > 0
    if keep is not None:
        ok &= keep[part]
    # implicit grouping by file: a sequence never spans two sources
    order_cols = [c for c in ("case", "source") if c in df.columns]
    if order_cols:
        src = ctx.key_codes(rule.source, order_cols)[rows]
    else:
        src = np.zeros(len(rows), dtype=np.int64)
    rows, bits, part, src = rows[ok], bits[ok], part[ok], src[ok]
    if not len(rows):
        return np.array([], int), np.array([], int), None
    ts = df[tcol].to_numpy()[rows]
    order = np.lexsort((ts, src, part))  # by group, then source, then time (stable)
    rows, bits, part, src, ts = rows[order], bits[order], part[order], src[order], ts[order]
    # one character per row; a separator between groups
    brk = np.flatnonzero((np.diff(part) != 0) | (np.diff(src) != 0)) + 1
    chars = (bits + 0x100).astype(np.uint32)
    chars = np.insert(chars, brk, ord("|"))
    rowpos = np.insert(np.arange(len(rows)), brk, -1)
    text = chars.tobytes().decode("utf-32-le")
    classes = []
    for i in range(len(steps)):
        members = "".join(chr(0x100 + m) for m in range(1, 1 << len(steps)) if m >> i & 1)
        classes.append(f"[{re.escape(members)}]")
    pattern = re.compile(
        "".join(
            f"({c}+)" if s.endswith("+") else f"({c})" for c, s in zip(classes, steps, strict=True)
        )
    )
    within = _duration(rule.within) if rule.within else None
    gap_comp = None
    if rule.gap:
        try:
            gap_comp = Compiler({"gap"}).compile("gap " + rule.gap)
        except ConditionError as exc:
            raise RuleRuntimeError("gap: " + exc.message) from None
    matches = []  # (start row index, end row index exclusive, step starts)
    for m in pattern.finditer(text):
        a, b = rowpos[m.start()], rowpos[m.end() - 1] + 1
        starts = [rowpos[m.start(g)] for g in range(1, len(steps) + 1)]
        if within is not None and ts[b - 1] - ts[a] > within:
            if not steps[-1].endswith("+"):
                continue
            limit = ts[a] + within.to_timedelta64()
            last_start = starts[-1]
            end = int(np.searchsorted(ts[last_start:b], limit, side="right")) + last_start
            if end <= last_start:
                continue
            b = end
        matches.append((a, b, starts))
    if gap_comp is not None and matches and len(steps) > 1:
        gaps, owner = [], []
        for k, (_a, _b, starts) in enumerate(matches):
            for s in starts[1:]:
                gaps.append((ts[s] - ts[s - 1]) / np.timedelta64(1, "s"))
                owner.append(k)
        gframe = pd.DataFrame({"gap": pd.Series(np.array(gaps, dtype=float), dtype="Float64")})
        ok_gap = gap_comp.mask(Frame(gframe))
        bad = np.zeros(len(matches), dtype=bool)
        np.logical_or.at(bad, np.array(owner), ~ok_gap)
        matches = [m for m, b in zip(matches, bad, strict=True) if not b]
    if not matches:
        return np.array([], int), np.array([], int), None
    lens = np.array([b - a for a, b, _ in matches])
    idx = np.concatenate([np.arange(a, b) for a, b, _ in matches])
    fid = np.repeat(np.arange(len(matches)), lens)
    fgroup = part[idx] if codes is not None else None
    return fid, rows[idx], fgroup


# --------------------------------------------------------------------------- findings


#: up to this many values a column is put into message text value by value (the same text
#: as the vectorised steps, which cost ~1 ms a call in fixed pandas work: a scan's rules
#: format a few findings' values many times)
_SMALL = 32


def _fmt(s: pd.Series) -> pd.Series:
    """Values as message text: nulls as '-', durations in seconds, floats short."""
    if len(s) <= _SMALL and not pd.api.types.is_timedelta64_dtype(s.dtype):
        return pd.Series(_fmt_values(s), index=s.index, dtype=object)
    return _fmt_vectorised(s)


def _missing(v) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v)


def _fmt_values(s: pd.Series) -> list[str]:
    """:func:`_fmt_vectorised`'s text, one value at a time (not for durations)."""
    dtype = s.dtype
    vals = s.tolist()
    if pd.api.types.is_float_dtype(dtype):
        return ["-" if _missing(v) else f"{v:g}" for v in vals]
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return ["-" if _missing(v) else v.strftime(
                    "%H:%M:%S.%f" if (v.year, v.month, v.day) == (1900, 1, 1)
                    else "%Y-%m-%d %H:%M:%S.%f")
                for v in vals]  # fmt: skip
    return ["-" if _missing(v) else str(v) for v in vals]


def _fmt_vectorised(s: pd.Series) -> pd.Series:
    if pd.api.types.is_timedelta64_dtype(s.dtype):
        secs = s.dt.total_seconds()
        txt = secs.map(lambda v: f"{v:g}s", na_action="ignore")
    elif pd.api.types.is_float_dtype(s.dtype):
        txt = s.astype("Float64").map(lambda v: f"{v:g}", na_action="ignore")
    elif pd.api.types.is_datetime64_any_dtype(s.dtype):
        # reports that print a time of day only (SYSTCPDA SESSION) are dated 1900-01-01
        dateless = (s.dt.year == 1900) & (s.dt.month == 1) & (s.dt.day == 1)
        txt = s.dt.strftime("%Y-%m-%d %H:%M:%S.%f").where(~dateless, s.dt.strftime("%H:%M:%S.%f"))
    else:
        txt = s.astype("string")
    return txt.astype(object).where(s.notna().to_numpy(), "-").astype(str)


def _template(message: str, values: pd.DataFrame) -> pd.Series:
    n = len(values)
    out = pd.Series([""] * n, dtype=object)
    last = 0
    for m in re.finditer(r"\{([^{}]*)\}", message):
        out = out + message[last : m.start()]
        name = m.group(1).strip()
        if name in values.columns:
            out = out + _fmt(values[name]).to_numpy()
        else:
            raise RuleRuntimeError(f"message: unknown placeholder {{{name}}}")
        last = m.end()
    out = out + message[last:]
    return out.astype(str)


def _first_per(fid: np.ndarray) -> np.ndarray:
    """Index of the first element of each run of equal ``fid`` (fid sorted)."""
    return np.flatnonzero(np.r_[True, fid[1:] != fid[:-1]])


def _findings(rule, ctx, df, tcol, frows, fid, fgroup, gframe) -> pd.DataFrame:
    starts = _first_per(fid)
    nf = len(starts)
    first_row = frows[starts]
    wanted = {"case", "source", "line"} | {name for _o, name in placeholders(rule.message)}
    for corr in rule.correlate:
        wanted |= set(corr["on"])
    if gframe is not None:
        wanted -= set(gframe.columns)
    take = [c for c in df.columns if c in wanted]
    vals = df[take].take(first_row).reset_index(drop=True)
    if gframe is not None and fgroup is not None:
        g = gframe.take(fgroup[starts]).reset_index(drop=True)
        vals = pd.concat([vals, g], axis=1)
        key = pd.Series([""] * nf, dtype=object)
        for i, k in enumerate(rule.group_by):
            key = key + ((" " if i else "") + f"{k}=") + _fmt(g[k]).to_numpy()
        key = key.astype(str)
    else:
        key = pd.Series([""] * nf, dtype=object)
    vals["rule_id"], vals["level"], vals["title"] = rule.id, rule.level, rule.title
    message = _template(rule.message, vals)
    # evidence: every row's line; (source, line) pairs for the first MAX_EVIDENCE rows
    nrows = len(frows)
    line_all = (
        df["line"].take(frows).to_numpy(dtype="int64", na_value=0)
        if "line" in df.columns
        else np.zeros(nrows, dtype=np.int64)
    )
    if "source" in df.columns:
        src_codes, src_names = pd.factorize(df["source"].take(frows), use_na_sentinel=False)
        src_names = [str(s) for s in src_names]
    else:
        src_codes, src_names = np.zeros(nrows, dtype=np.int64), [""]
    bounds = np.r_[starts, nrows]
    lines = [line_all[a:b].tolist() for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    evidence = [
        [{"table": rule.source, "source": src_names[s], "line": x}
         for s, x in zip(src_codes[a : min(b, a + MAX_EVIDENCE)].tolist(), ln[:MAX_EVIDENCE],
                         strict=True)]
        for a, b, ln in zip(bounds[:-1], bounds[1:], lines, strict=True)
    ]  # fmt: skip
    if tcol is not None:
        tvals = df[tcol].to_numpy()[frows]
        tser = pd.Series(tvals)
        first_ts = tser.groupby(fid).min().to_numpy()
        last_ts = tser.groupby(fid).max().to_numpy()
    else:
        first_ts = last_ts = np.full(nf, np.datetime64("NaT"), dtype="datetime64[us]")
    out = pd.DataFrame(
        {
            "rule_id": [rule.id] * nf,
            "level": [rule.level] * nf,
            "title": [rule.title] * nf,
            "case": vals["case"].astype(str) if "case" in vals else [""] * nf,
            "source": vals["source"] if "source" in vals else [""] * nf,
            "line": vals["line"] if "line" in vals else [pd.NA] * nf,
            "lines": lines,
            "key": key,
            "message": message,
            "remedy": [(rule.remedy or "").strip()] * nf,
            "references": [list(rule.references)] * nf,
            "evidence": evidence,
            "first_ts": first_ts,
            "last_ts": last_ts,
        }
    )
    if rule.correlate:
        out = _correlate(rule, ctx, out, vals)
    return T.conform("findings", out)


def correlated_rows(corr: dict, other: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``other`` a ``correlate`` entry may take as evidence (its ``where``)."""
    if not corr.get("where"):
        return other
    try:
        comp = Compiler(set(other.columns), dtypes=dict(other.dtypes)).compile(corr["where"])
        m = comp.mask(Frame(other))
    except ConditionError as exc:
        raise RuleRuntimeError(f"correlate {corr['table']}: {exc.message}") from None
    except (KeyError, TypeError) as exc:
        raise RuleRuntimeError(f"correlate {corr['table']}: {exc}") from None
    return other.take(np.flatnonzero(m))


def _correlate(rule, ctx, out: pd.DataFrame, vals: pd.DataFrame) -> pd.DataFrame:
    keep = np.ones(len(out), dtype=bool)
    extra: list[list] = [[] for _ in range(len(out))]
    for corr in rule.correlate:
        other = ctx.table(corr["table"])
        on = corr["on"]
        if other is None or not len(other):
            if corr.get("require"):
                keep[:] = False
            continue
        _check_columns(other, on.values(), f"correlate {corr['table']}")
        _check_columns(vals, on.keys(), "correlate")
        needed = [c for c in other.columns if c in set(on.values()) | {"case", "source", "line"}]
        other = correlated_rows(corr, other)[needed]
        left = pd.DataFrame({f"k{i}": vals[c].to_numpy() for i, c in enumerate(on)})
        left["_fid"] = np.arange(len(vals))
        right = pd.DataFrame({f"k{i}": other[c].to_numpy() for i, c in enumerate(on.values())})
        keys = [f"k{i}" for i in range(len(on))]
        if "case" in vals.columns and "case" in other.columns:
            left["kcase"] = vals["case"].astype(str).to_numpy()
            right["kcase"] = other["case"].astype(str).to_numpy()
            keys.append("kcase")
        right["_src"] = other["source"].astype(str).to_numpy() if "source" in other else ""
        right["_line"] = other["line"].to_numpy() if "line" in other else pd.NA
        left = left.dropna(subset=keys)
        right = right.dropna(subset=keys)
        for k in keys:  # compare as text so Int64 meets int64 and strings meet strings
            left[k] = left[k].astype(str)
            right[k] = right[k].astype(str)
        joined = left.merge(right, on=keys, how="inner")
        hit = np.zeros(len(out), dtype=bool)
        hit[joined["_fid"].to_numpy()] = True
        if corr.get("require"):
            keep &= hit
        for f, grp in joined.groupby("_fid", sort=False):
            extra[f].extend(
                {"table": corr["table"], "source": s, "line": int(x)}
                for s, x in zip(grp["_src"][:MAX_EVIDENCE], grp["_line"][:MAX_EVIDENCE], strict=False)
            )  # fmt: skip
    out = out.copy()
    out["evidence"] = [ev + ex for ev, ex in zip(out["evidence"], extra, strict=True)]
    return out[keep].reset_index(drop=True)


# --------------------------------------------------------------------------- all rules


def run_rules(rules, tableset) -> tuple[pd.DataFrame, list[RuleError]]:
    """Findings of every rule, sorted by level (highest first); per-rule errors recorded."""
    frames, errors = [], []
    ctx = _context(tableset)
    for rule in rules:
        try:
            f = run_rule(rule, ctx)
        except RuleRuntimeError as exc:
            errors.append(RuleError(rule.id, rule.file, str(exc)))
            continue
        except FAILURES as exc:  # a bug or odd data: record it, let the other rules run
            msg = f"internal error: {type(exc).__name__}: {exc}"
            errors.append(RuleError(rule.id, rule.file, msg))
            continue
        if len(f):
            frames.append(f)
    return sort_findings(frames), errors


def sort_findings(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Findings joined and sorted by level (highest first), then line."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return T.empty("findings")
    findings = pd.concat(frames, ignore_index=True)
    rank = findings["level"].map(LEVEL_RANK).astype(int)
    order = np.lexsort((findings["line"].fillna(0).to_numpy(dtype="int64"), -rank.to_numpy()))
    return findings.iloc[order].reset_index(drop=True)
