"""Cases: what an inbox entry is, its id, and the case function every executor runs.

A case is one entry of the inbox: a file, a folder (read recursively) or an archive (opened
in memory by ``zdiag.sources``). Its id is the sanitised entry name plus the first 12 hex
digits of the content's sha256 (for a folder: a hash over its files' relative paths and
contents, in sorted order), so the same content under the same name is the same case.

``run_case(spec)`` is the case function: top level and picklable, for the local pool and for
dask alike. It runs ``process_case`` in a child process (time and memory limits; the child
is reused by the next case unless this one killed it) and always returns an index row; it
never raises.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from zdiag.batch.isolate import run_reused

MARKER = "case.json"
LEVELS = ("critical", "high", "medium", "low", "info")
#: Entries a batch never takes: hidden, and names of files still being written.
PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".filepart", "~")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class CaseSpec:
    """Everything a worker needs to run one case (picklable, paths absolute)."""

    case_id: str
    name: str
    entry: str
    out: str
    rules: tuple[str, ...] | None = None
    fail_on: str = "high"
    tables: bool = False
    timeout: float | None = 600.0
    memory_mb: int | None = 4096
    kind: str | None = None
    run_token: str = field(default_factory=lambda: uuid.uuid4().hex)


def sanitise(name: str, limit: int = 64) -> str:
    """A name safe as a folder name everywhere: letters, digits, ``._-``."""
    text = _UNSAFE.sub("_", name).strip("._-") or "case"
    return text[:limit].rstrip("._-") or "case"


def _hash_file(path: Path, h) -> None:
    with path.open("rb") as fh:
        while chunk := fh.read(1024 * 1024):
            h.update(chunk)


def _dir_files(path: Path) -> list[tuple[str, Path]]:
    """The files ``zdiag.sources.iter_sources`` reads below ``path`` (same filter)."""
    out = []
    for sub in path.rglob("*"):
        if not sub.is_file() or sub.is_symlink():
            continue
        rel = sub.relative_to(path)
        if any(part.startswith(".") for part in rel.parts):
            continue
        out.append((rel.as_posix(), sub))
    return sorted(out)


def content_hash(path: Path) -> str:
    """sha256 of a file, or of a folder's (relative path, size, content) in sorted order."""
    h = hashlib.sha256()
    if path.is_dir():
        for rel, sub in _dir_files(path):
            h.update(rel.encode("utf-8", "surrogateescape") + b"\0")
            h.update(sub.stat().st_size.to_bytes(8, "big"))
            _hash_file(sub, h)
    else:
        _hash_file(path, h)
    return h.hexdigest()


def case_id(path: Path) -> str:
    return f"{sanitise(path.name)}-{content_hash(path)[:12]}"


def signature(path: Path) -> str:
    """Cheap change detector (size and mtime, of every file for a folder)."""
    if path.is_dir():
        parts = [f"{rel}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for rel, p in _dir_files(path)]
        return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogateescape")).hexdigest()
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def inbox_entries(inbox: Path, exclude: Path | None = None) -> list[Path]:
    """The entries of ``inbox`` that are cases, sorted by name."""
    excl = exclude.resolve() if exclude else None
    out = []
    for p in sorted(inbox.iterdir()):
        if p.name.startswith(".") or p.name.endswith(PARTIAL_SUFFIXES):
            continue
        if excl is not None and p.resolve() == excl:
            continue
        if p.is_file() or p.is_dir():
            out.append(p)
    return out


# ---------------------------------------------------------------------------- the case work


def _reason(sources, rows) -> str | None:
    """Why a case fails as a whole: a refused archive member, or no readable input."""
    refused = [s for s in sources if s.refused]
    if refused:
        shown = "; ".join(f"{s.name}: {s.error}" for s in refused[:3])
        more = f" (+{len(refused) - 3} more)" if len(refused) > 3 else ""
        return f"archive refused: {shown}{more}"
    if not any(r["kind"] not in ("unknown", "") and not r["error"] for r in rows):
        errors = [f"{r['source']}: {r['error']}" for r in rows if r["error"]][:3]
        if not rows:
            return "no readable input: the entry holds no file"
        return "no readable input: " + ("; ".join(errors) if errors else "nothing recognised")
    return None


def _write_parquet(tables, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        out = df.copy()
        for col in out.columns:
            if out[col].dtype == object:
                out[col] = out[col].map(lambda v: None if v is None else json.dumps(v, default=str))
        out.to_parquet(folder / f"{name}.parquet", index=False)


def _not_available(exc: Exception) -> bool:
    return "not available" in str(exc)


def _write_outputs(result, tmp: Path, spec: CaseSpec) -> list[str]:
    """Write the per-case reports into ``tmp``; return the gaps (writers not available)."""
    import click

    from zdiag.report import write_reports

    gaps = []
    write_reports(result, json=str(tmp / "findings.json"), fail_on=spec.fail_on)
    for option, kwargs in (
        ("xlsx", {"xlsx": str(tmp / "findings.xlsx")}),
        ("sarif", {"sarif": str(tmp / "findings.sarif")}),
    ):
        try:
            write_reports(result, fail_on=spec.fail_on, **kwargs)
        except click.UsageError as exc:
            if not _not_available(exc):
                raise
            gaps.append(f"{option}: {exc.format_message()}")
    if spec.tables:
        try:
            write_reports(result, tables_dir=str(tmp / "tables"), fail_on=spec.fail_on)
        except click.UsageError as exc:
            if not _not_available(exc):
                raise
            _write_parquet(result.tables, tmp / "tables")
    return gaps


def process_case(spec: CaseSpec) -> dict:
    """Parse, scan and report one case into ``out/<case_id>/`` (atomically: built under
    ``out/.zdiag/tmp`` and renamed, with the finished marker inside). Runs in the child."""
    from zdiag.pipeline import collect, parse_sources
    from zdiag.rules.model import LEVEL_RANK
    from zdiag.rules.scan import scan_tables
    from zdiag.sources import iter_sources
    from zdiag.spill import Spill

    t0 = time.perf_counter()
    out = Path(spec.out)
    final = out / spec.case_id
    tmp = out / ".zdiag" / "tmp" / f"{spec.case_id}.{spec.run_token}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)

    sources = list(iter_sources([spec.entry]))
    spill = Spill(tmp.parent)  # a large trace's packets stay on disk (bounded memory)
    results = list(parse_sources(sources, kind=spec.kind, case=spec.case_id, spill=spill))
    rows = [r.file_row for r in results]
    tables = collect(results, spill=spill)
    result = scan_tables(tables, list(spec.rules) if spec.rules else None, spec.fail_on)
    gaps = _write_outputs(result, tmp, spec)
    spill.close()

    findings = result.findings
    counts = findings["level"].value_counts() if len(findings) else {}
    top = ""
    if len(findings):
        ranked = findings.assign(_r=findings["level"].map(LEVEL_RANK))
        best = ranked.groupby("rule_id", sort=True)["_r"].agg(["max", "size"])
        best = best.sort_values(["max", "size"], ascending=[False, False], kind="stable")
        top = str(best.index[0])
    error = _reason(sources, rows)
    row = base_row(spec)
    row.update(
        status="failed" if error else "done",
        files=len(rows),
        file_errors=sum(1 for r in rows if r["error"]),
        lines=int(sum(int(r["lines"] or 0) for r in rows)),
        unrecognised=int(sum(int(r["unrecognised"] or 0) for r in rows)),
        findings=len(findings),
        **{lv: int(counts.get(lv, 0)) for lv in LEVELS},
        top_rule=top,
        exit_code=result.exit_code(spec.fail_on),
        error=error,
        gaps="; ".join(gaps) or None,
        outputs=sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file())
        + [MARKER],
        seconds=round(time.perf_counter() - t0, 3),
    )
    (tmp / MARKER).write_text(json.dumps(row, indent=1) + "\n", encoding="utf-8")
    if final.exists():  # a half-kept folder from an earlier run that never finished
        shutil.rmtree(final)
    os.replace(tmp, final)
    return row


def base_row(spec: CaseSpec) -> dict:
    row = {"case": spec.case_id, "name": spec.name, "entry": spec.entry, "status": "",
           "files": 0, "file_errors": 0, "lines": 0, "unrecognised": 0, "findings": 0}  # fmt: skip
    row.update({lv: 0 for lv in LEVELS})
    row.update(top_rule="", exit_code=None, error=None, gaps=None, outputs=[], seconds=0.0,
               run=spec.run_token)  # fmt: skip
    return row


def read_marker(out: Path, cid: str) -> dict | None:
    """The finished marker of a case folder, or None when absent or unreadable."""
    try:
        row = json.loads((out / cid / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (
        not isinstance(row, dict)
        or row.get("case") != cid
        or row.get("status")
        not in (
            "done",
            "failed",
        )
    ):
        return None
    return row


def failed_row(spec: CaseSpec, error: str, seconds: float = 0.0) -> dict:
    row = base_row(spec)
    row.update(status="failed", error=error, seconds=round(seconds, 3))
    return row


def run_case(spec: CaseSpec) -> dict:
    """THE case function (local pool and dask): ``process_case`` in an isolated child (one
    per executor thread, reused from case to case and replaced when a case kills it); a
    raise, a timeout, an exhausted memory limit or a crash becomes a failed row."""
    try:
        outcome = run_reused(process_case, spec, spec.timeout, spec.memory_mb)
        if outcome.ok:
            return outcome.value
        marker = read_marker(Path(spec.out), spec.case_id)
        if marker is not None and marker.get("run") == spec.run_token:
            return marker  # finished and renamed just as the limit struck
        return failed_row(spec, outcome.error, outcome.seconds)
    except Exception as exc:  # noqa: BLE001 - the executor must always get a row
        return failed_row(spec, f"batch: {type(exc).__name__}: {exc}")
