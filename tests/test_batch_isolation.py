"""Isolation: a case that raises, hangs past its timeout or exhausts its memory is failed
with its reason, and the cases beside it finish."""

from __future__ import annotations

import time
from pathlib import Path

from batch_inbox import GOOD

from zdiag.batch import CaseSpec, LocalExecutor
from zdiag.batch.isolate import CaseWorker, run_isolated, run_reused


def _raise(_arg):
    raise ValueError("boom in the case")


def _hang(_arg):
    time.sleep(120)


def _hog(_arg):
    blocks = []
    for _ in range(64):
        blocks.append(bytearray(64 * 1024 * 1024))  # 64 MB each, 4 GB in all
    return len(blocks)


def _fine(arg):
    return arg * 2


def test_run_isolated_reasons():
    assert run_isolated(_fine, 21, timeout=60).value == 42
    raised = run_isolated(_raise, None, timeout=60)
    assert not raised.ok and raised.error == "ValueError: boom in the case"
    t0 = time.perf_counter()
    hung = run_isolated(_hang, None, timeout=1)
    assert not hung.ok and "timed out after 1 s" in hung.error
    assert time.perf_counter() - t0 < 30
    hog = run_isolated(_hog, None, timeout=60, memory_mb=256)
    assert not hog.ok and "memory limit exceeded (256 MB)" in hog.error


def _pid(_arg):
    import os

    return os.getpid()


def test_reused_worker_survives_errors_and_is_replaced_after_a_hang():
    worker = CaseWorker(memory_mb=256)
    try:
        first = worker.call(_pid, None, timeout=60).value
        assert worker.call(_raise, None, timeout=60).error == "ValueError: boom in the case"
        assert worker.call(_pid, None, timeout=60).value == first  # same child, still usable
        hung = worker.call(_hang, None, timeout=0.5)
        assert not hung.ok and "timed out" in hung.error and not worker.usable
    finally:
        worker.close()
    worker = CaseWorker(memory_mb=256)
    try:
        hog = worker.call(_hog, None, timeout=60)
        assert not hog.ok and "memory limit exceeded" in hog.error
        assert not worker.usable  # a child that ran out of memory is not trusted again
    finally:
        worker.close()
    # run_reused starts a fresh child per thread whenever the last one is gone
    assert run_reused(_hog, None, timeout=60, memory_mb=256).error.startswith("memory limit")
    again = run_reused(_pid, None, timeout=60, memory_mb=256)
    assert again.ok and again.value != first


def _spec(tmp_path: Path, name: str, **kw) -> CaseSpec:
    return CaseSpec(case_id=f"{name}-000000000000", name=name, entry=str(GOOD[0]),
                    out=str(tmp_path), **kw)  # fmt: skip


def test_bad_cases_fail_and_the_others_finish(tmp_path):
    specs = [
        _spec(tmp_path, "raises", kind="no.such.kind"),  # registry.get raises in the case
        _spec(tmp_path, "hangs", timeout=0.001),  # cannot finish in time
        _spec(tmp_path, "ok1"),
        _spec(tmp_path, "oom", memory_mb=1),  # 1 MB of room: the case runs out
        _spec(tmp_path, "ok2"),
    ]
    with LocalExecutor(jobs=2) as ex:
        rows = {spec.name: row for spec, row in ex.run(specs)}
    assert rows["ok1"]["status"] == rows["ok2"]["status"] == "done"
    assert (tmp_path / "ok1-000000000000" / "findings.json").exists()
    assert rows["raises"]["status"] == "failed" and "KeyError" in rows["raises"]["error"]
    assert rows["hangs"]["status"] == "failed" and "timed out" in rows["hangs"]["error"]
    assert rows["oom"]["status"] == "failed" and "memory" in rows["oom"]["error"]
    for name in ("raises", "hangs", "oom"):
        assert not (tmp_path / f"{name}-000000000000").exists()
