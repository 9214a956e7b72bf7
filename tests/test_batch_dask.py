"""The dask path: the same case function on a LocalCluster gives the same index as the pool."""

from __future__ import annotations

import json

import pytest
from batch_inbox import make_inbox

from zdiag.batch import BatchOptions, run_batch

distributed = pytest.importorskip("distributed")

#: Fields that depend on the run, not on the case.
VOLATILE = ("seconds",)


def _index(out) -> list[dict]:
    rows = json.loads((out / "index.json").read_text(encoding="utf-8"))["rows"]
    return [{k: v for k, v in r.items() if k not in VOLATILE} for r in rows]


def test_dask_local_cluster_same_index_as_local_pool(tmp_path):
    inbox = make_inbox(tmp_path / "inbox", 5)  # 5 good cases, one of each shape, + 3 broken
    local = run_batch(inbox, tmp_path / "local", BatchOptions(jobs=2))
    assert (local.done, local.failed) == (5, 3)
    # a worker process of its own: the case function and its spec really travel pickled
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                                  dashboard_address=None) as cluster:  # fmt: skip
        remote = run_batch(inbox, tmp_path / "dask",
                           BatchOptions(scheduler=cluster.scheduler_address))  # fmt: skip
    assert (remote.done, remote.failed) == (5, 3)
    assert _index(tmp_path / "dask") == _index(tmp_path / "local")
    for r in remote.rows:
        assert (tmp_path / "dask" / r["case"] / "findings.json").exists()
