"""The batch coordinator: inbox → cases → executor → state, per-case reports and the index.

Only this process writes the state; workers write their case folder (atomically) and hand
back a row. Kill it at any moment and run it again: finished cases are skipped, a case whose
folder was renamed into place but never recorded is adopted from its marker, and cases left
``running`` are run again (their half-built folders live under ``.zdiag/tmp`` only).
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from zdiag.batch.cases import (
    CaseSpec,
    case_id,
    inbox_entries,
    read_marker,
    signature,
)
from zdiag.batch.executors import Executor, make_executor
from zdiag.batch.index import write_index
from zdiag.batch.state import FINAL, State


@dataclass
class BatchOptions:
    jobs: int | None = None
    scheduler: object = None  # "tcp://host:8786" or a distributed.Client
    timeout: float | None = 600.0
    memory_mb: int | None = 4096
    tables: bool = False
    rules: tuple[str, ...] | None = None
    fail_on: str = "high"
    kind: str | None = None
    watch: bool = False
    poll: float = 2.0
    settle: float = 2.0  # --watch: an entry unchanged for this long is complete
    retry_failed: bool = False
    progress: bool = False


@dataclass
class BatchSummary:
    done: int = 0
    failed: int = 0
    skipped: int = 0
    adopted: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    index_json: Path | None = None
    index_xlsx: Path | None = None
    rows: list[dict] = field(default_factory=list)  # every recorded case (the index)
    ran: list[dict] = field(default_factory=list)  # rows of cases run by this call

    @property
    def cases_per_minute(self) -> float:
        n = self.done + self.failed
        return 60.0 * n / self.seconds if self.seconds > 0 else 0.0


class Progress:
    """Cases done/failed/skipped, the current case and the rate (tqdm); silent when off."""

    def __init__(self, enabled: bool):
        self.bar = None
        self.counts = {"done": 0, "failed": 0, "skipped": 0}
        self.current = ""
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=0, unit="case", dynamic_ncols=True, file=sys.stderr)

    def grow(self, n: int) -> None:
        if self.bar is not None and n:
            self.bar.total += n
            self.bar.refresh()

    def _post(self) -> None:
        if self.bar is not None:
            self.bar.set_postfix(**self.counts, current=self.current[:40], refresh=True)

    def start(self, spec: CaseSpec) -> None:
        self.current = spec.name
        self._post()

    def skipped(self, n: int) -> None:
        self.counts["skipped"] += n
        self._post()

    def finished(self, row: dict) -> None:
        self.counts[row["status"]] = self.counts.get(row["status"], 0) + 1
        if self.bar is not None:
            self.bar.set_postfix(**self.counts, current=self.current[:40], refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def progress_wanted(asked: bool) -> bool:
    return bool(asked and sys.stderr.isatty() and not os.environ.get("CI"))


class _Planner:
    """Turns inbox entries into the specs still to run, skipping and adopting."""

    def __init__(self, inbox: Path, out: Path, state: State, opts: BatchOptions):
        self.inbox, self.out, self.state, self.opts = inbox, out, state, opts
        self.last_sig: dict[str, str] = {}
        self.handled: set[str] = set()

    def _stable(self, path: Path, entry: str, sig: str) -> bool:
        if not self.opts.watch:
            return True
        before = self.last_sig.get(entry)
        self.last_sig[entry] = sig
        if before == sig:
            return True
        try:
            newest = max(
                [path.stat().st_mtime] + [p.stat().st_mtime for p in path.rglob("*")]
                if path.is_dir()
                else [path.stat().st_mtime]
            )
        except OSError:
            return False
        return before is None and time.time() - newest >= self.opts.settle

    def plan(self, summary: BatchSummary, progress: Progress) -> list[CaseSpec]:
        specs, skipped = [], 0
        for path in inbox_entries(self.inbox, exclude=self.out):
            entry = str(path.resolve())
            try:
                sig = signature(path)
                if not self._stable(path, entry, sig):
                    continue
                cid = self.state.cached_id(entry, sig)
                if cid is None:
                    cid = case_id(path)
                    self.state.remember(entry, sig, cid)
            except OSError:
                continue  # vanished or unreadable while we looked: next poll
            if cid in self.handled:
                continue
            self.handled.add(cid)
            status = self.state.status(cid)
            if status == "done" or (status == "failed" and not self.opts.retry_failed):
                skipped += 1
                continue
            marker = read_marker(self.out, cid)
            if marker is not None and status not in FINAL:
                self.state.finish(marker, "adopted")
                summary.adopted += 1
                skipped += 1
                continue
            o = self.opts
            specs.append(
                CaseSpec(
                    case_id=cid,
                    name=path.name,
                    entry=entry,
                    out=str(self.out),
                    rules=o.rules,
                    fail_on=o.fail_on,
                    tables=o.tables,
                    timeout=o.timeout,
                    memory_mb=o.memory_mb,
                    kind=o.kind,
                )  # fmt: skip
            )
        summary.skipped += skipped
        progress.skipped(skipped)
        return specs


def _clean_tmp(out: Path) -> None:
    """Half-built case folders of runs that were killed."""
    tmp = out / ".zdiag" / "tmp"
    if tmp.is_dir():
        shutil.rmtree(tmp, ignore_errors=True)


def run_batch(
    inbox,
    out,
    opts: BatchOptions | None = None,
    executor: Executor | None = None,
    on_row: Callable[[dict], None] | None = None,
    stop: threading.Event | None = None,
) -> BatchSummary:
    """Run every case of ``inbox`` not yet finished in ``out``; with ``opts.watch`` keep
    polling until interrupted (Ctrl-C) or ``stop`` is set. Returns counts and the index rows."""
    opts = opts or BatchOptions()
    inbox, out = Path(inbox), Path(out).resolve()  # workers (dask) may not share our cwd
    if not inbox.is_dir():
        raise NotADirectoryError(f"{inbox}: the inbox must be a folder")
    out.mkdir(parents=True, exist_ok=True)
    state = State(out)
    summary = BatchSummary()
    t0 = time.perf_counter()
    progress = Progress(progress_wanted(opts.progress))
    own = executor is None
    ex = None
    try:
        state.requeue_interrupted()
        _clean_tmp(out)
        planner = _Planner(inbox, out, state, opts)
        ex = executor or make_executor(opts.jobs, opts.scheduler)
        while True:
            specs = planner.plan(summary, progress)
            progress.grow(len(specs))

            def feed(specs=specs):
                for spec in specs:  # pulled lazily by the executor, in this thread
                    state.start(spec.case_id, spec.name, spec.entry)
                    yield spec

            for _spec, row in ex.run(feed(), on_start=progress.start):
                state.finish(row)
                summary.ran.append(row)
                if row["status"] == "done":
                    summary.done += 1
                else:
                    summary.failed += 1
                progress.finished(row)
                if on_row is not None:
                    on_row(row)
            if specs or summary.adopted:
                write_index(out, state.rows())
            if not opts.watch or (stop is not None and stop.wait(opts.poll)):
                break
            if stop is None:
                time.sleep(opts.poll)
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        progress.close()
        if own and ex is not None:
            ex.close()
        summary.rows = state.rows()
        summary.index_json, summary.index_xlsx = write_index(out, summary.rows)
        summary.seconds = time.perf_counter() - t0
        state.close()
    return summary
