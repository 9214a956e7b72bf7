"""Batch throughput: cases per minute for N small real cases with 1 and 2 local workers and
through a dask LocalCluster (2 single-threaded worker processes). Not a test.

    python bench/batch.py [--cases 200] [--json bench/batch_results.json]

Each configuration runs into a fresh output folder, so nothing is skipped; the time is the
whole ``run_batch`` call (planning, hashing, case children, state, index), and for dask the
cluster's start-up is excluded (reported separately).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from batch_inbox import good_case  # noqa: E402

from zdiag.batch import BatchOptions, run_batch  # noqa: E402


def _run(inbox: Path, out: Path, opts: BatchOptions) -> dict:
    t0 = time.perf_counter()
    s = run_batch(inbox, out, opts)
    secs = time.perf_counter() - t0
    n = s.done + s.failed
    return {"cases": n, "done": s.done, "failed": s.failed, "seconds": round(secs, 2),
            "cases_per_min": round(60 * n / secs, 1)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--json", default=str(ROOT / "bench" / "batch_results.json"))
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="zdiag-bench-batch-"))
    inbox = work / "inbox"
    inbox.mkdir()
    for i in range(args.cases):
        good_case(inbox, i)
    results = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                           "loadavg_before": os.getloadavg()}, "runs": {}}  # fmt: skip
    for jobs in (1, 2):
        results["runs"][f"local jobs={jobs}"] = _run(inbox, work / f"out{jobs}",
                                                     BatchOptions(jobs=jobs))  # fmt: skip
        print(f"local jobs={jobs}: {results['runs'][f'local jobs={jobs}']}", flush=True)
    try:
        import distributed
    except ImportError:
        print("dask distributed not installed: pip install 'zdiag[distributed]'")
    else:
        t0 = time.perf_counter()
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster:  # fmt: skip
            up = time.perf_counter() - t0
            r = _run(inbox, work / "outdask", BatchOptions(scheduler=cluster.scheduler_address))
            r["cluster_start_seconds"] = round(up, 2)
            results["runs"]["dask LocalCluster 2x1"] = r
            print(f"dask LocalCluster 2 workers: {r}", flush=True)
    results["machine"]["loadavg_after"] = os.getloadavg()
    Path(args.json).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"written {args.json}")


if __name__ == "__main__":
    main()
