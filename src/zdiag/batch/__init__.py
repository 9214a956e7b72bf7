"""Batch mode (SPEC §8): every entry of an inbox is a case, run isolated, resumably, on a
local pool or a dask scheduler; per-case reports and an index across cases.

- ``cases``: entries, case ids, the case function ``run_case`` (picklable, top level)
- ``isolate``: one call in a child process with time and memory limits
- ``state``: ``DIR/.zdiag/state.sqlite``
- ``executors``: ``LocalExecutor`` (``--jobs``) and ``DaskExecutor`` (``--scheduler``)
- ``index``: ``DIR/index.json`` and ``DIR/index.xlsx``
- ``runner``: ``run_batch``, the coordinator
"""

from zdiag.batch.cases import CaseSpec, case_id, process_case, run_case
from zdiag.batch.executors import DaskExecutor, Executor, LocalExecutor, make_executor
from zdiag.batch.runner import BatchOptions, BatchSummary, run_batch

__all__ = [
    "BatchOptions", "BatchSummary", "CaseSpec", "DaskExecutor", "Executor", "LocalExecutor",
    "case_id", "make_executor", "process_case", "run_batch", "run_case",
]  # fmt: skip
