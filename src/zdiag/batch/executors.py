"""Executors: one interface, two ways to run the same case function.

``run(specs, on_start)`` yields ``(spec, row)`` as cases finish, in completion order.
``LocalExecutor`` keeps ``jobs`` cases running at once, each in an isolated child process
(``isolate.run_reused``: one child per pool thread, replaced when a case kills it; the
pool's threads only wait on them).
``DaskExecutor`` submits ``run_case`` to a dask distributed scheduler; its workers must be
able to import zdiag and to write ``DIR`` (a shared file system for remote workers).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from zdiag.batch import isolate
from zdiag.batch.cases import CaseSpec, failed_row, run_case


class Executor:
    name = "executor"
    workers = 1

    def run(
        self, specs: Iterable[CaseSpec], on_start: Callable[[CaseSpec], None] | None = None
    ) -> Iterator[tuple[CaseSpec, dict]]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class LocalExecutor(Executor):
    name = "local"

    def __init__(self, jobs: int | None = None, fn: Callable = run_case):
        self.workers = jobs or default_jobs()
        self.fn = fn
        self.pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="zdiag-case")

    def _one(self, spec, on_start):
        if on_start is not None:
            on_start(spec)
        return self.fn(spec)

    def run(self, specs, on_start=None):
        todo = iter(specs)
        running: dict = {}

        def fill() -> None:
            # submit lazily: an interrupted run leaves nothing queued behind it
            while len(running) < self.workers:
                spec = next(todo, None)
                if spec is None:
                    return
                running[self.pool.submit(self._one, spec, on_start)] = spec

        fill()
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                spec = running.pop(fut)
                try:
                    row = fut.result()
                except Exception as exc:  # noqa: BLE001 - run_case never raises; be sure
                    row = failed_row(spec, f"batch: {type(exc).__name__}: {exc}")
                yield spec, row
            fill()

    def close(self) -> None:
        isolate.kill_all()
        self.pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor(Executor):
    name = "dask"

    def __init__(self, scheduler, fn: Callable = run_case):
        try:
            from distributed import Client
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise RuntimeError(
                "--scheduler needs dask distributed: pip install 'zdiag[distributed]'"
            ) from exc
        self.fn = fn
        self.own = not isinstance(scheduler, Client)
        self.client = Client(scheduler, set_as_default=False) if self.own else scheduler
        self.workers = max(1, sum(w.get("nthreads", 1) for w in self._workers()))
        self.futures: list = []

    def _workers(self) -> list[dict]:
        return list(self.client.scheduler_info().get("workers", {}).values())

    def run(self, specs, on_start=None):
        from distributed import as_completed

        by_key = {}
        for spec in specs:
            fut = self.client.submit(
                self.fn, spec, key=f"zdiag-case-{spec.case_id}-{spec.run_token}", pure=False
            )
            by_key[fut.key] = spec
            self.futures.append(fut)
        for fut in as_completed(list(self.futures), loop=self.client.loop):
            spec = by_key[fut.key]
            if on_start is not None:
                on_start(spec)
            try:
                row = fut.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker, a cancelled task
                row = failed_row(spec, f"dask: {type(exc).__name__}: {exc}")
            self.futures.remove(fut)
            yield spec, row

    def close(self) -> None:
        if self.futures:
            self.client.cancel(self.futures)
            self.futures = []
        if self.own:
            self.client.close()


def make_executor(jobs: int | None = None, scheduler=None) -> Executor:
    if scheduler:
        return DaskExecutor(scheduler)
    return LocalExecutor(jobs)
