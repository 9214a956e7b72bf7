"""Run one function call in a child process with a time limit and an address-space limit, so
that a case that hangs, exhausts memory or crashes the interpreter takes only itself down.

Children come from a ``forkserver`` whose process has imported zdiag (``_preload``) but has
never run polars: forking a process whose polars thread pool is running hangs the child, and
forking the executor's own process (threads, dask) is unsafe. Where ``forkserver`` is missing
(not POSIX) ``spawn`` is used, slower but equivalent.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

_LOCK = threading.Lock()
_CTX = None
_LIVE: set = set()


@dataclass
class Outcome:
    ok: bool
    value: object = None  # fn's return value when ok
    error: str = ""  # one line when not ok
    seconds: float = 0.0


def _context():
    global _CTX
    with _LOCK:
        if _CTX is None:
            if "forkserver" in mp.get_all_start_methods():
                ctx = mp.get_context("forkserver")
                ctx.set_forkserver_preload(["zdiag.batch._preload"])
                _start_forkserver()
            else:  # pragma: no cover - Windows
                ctx = mp.get_context("spawn")
            _CTX = ctx
        return _CTX


def _start_forkserver() -> None:
    """Start the forkserver with this process's ``sys.path`` (Python < 3.12 does not pass it
    to the server before the preload, so an uninstalled zdiag would not be preloaded)."""
    from multiprocessing import forkserver

    paths = [os.path.abspath(p) for p in sys.path if p]
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)
    try:
        forkserver.ensure_running()
    finally:
        if old is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = old


def _vm_size() -> int:
    """This process's current address-space size in bytes (0 when unknown)."""
    try:
        with open(f"/proc/{os.getpid()}/statm") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):  # pragma: no cover - not Linux
        return 0


def _limit_memory(memory_mb: int | None) -> None:
    if not memory_mb:
        return
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return
    # The budget is on top of what the child already maps (interpreter, libraries): the same
    # --memory means the same room for the case whatever the libraries reserve.
    limit = _vm_size() + int(memory_mb) * 1024 * 1024
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _child(fn: Callable, arg, memory_mb: int | None, conn) -> None:
    # Ctrl-C is the coordinator's business: it stops the run and kills the children itself,
    # so an interrupt is never recorded as the failure of a case.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _limit_memory(memory_mb)
        msg = ("ok", fn(arg))
    except MemoryError:
        msg = ("error", f"memory limit exceeded ({memory_mb} MB)")
    except BaseException as exc:  # noqa: BLE001 - any failure of the case is its result
        text = str(exc).splitlines()[0] if str(exc) else ""
        msg = ("error", f"{type(exc).__name__}: {text}" if text else type(exc).__name__)
    try:
        conn.send(msg)
    except MemoryError:
        conn.send(("error", f"memory limit exceeded ({memory_mb} MB)"))
    finally:
        conn.close()


def _start(proc) -> None:
    """Start ``proc`` even from a daemonic process (a dask worker): the child is ours to
    reap, and we kill it on timeout or interrupt."""
    cur = mp.current_process()
    with _LOCK:
        daemon = cur._config.get("daemon")
        if daemon:
            cur._config["daemon"] = False
        try:
            proc.start()
        finally:
            if daemon:
                cur._config["daemon"] = daemon


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def run_isolated(
    fn: Callable, arg, timeout: float | None = None, memory_mb: int | None = None
) -> Outcome:
    """``fn(arg)`` in a child process. ``fn`` and ``arg`` must be picklable (``fn`` a
    top-level function). Never raises for anything the child does."""
    t0 = time.perf_counter()
    ctx = _context()
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(fn, arg, memory_mb, send), daemon=False)
    _start(proc)
    send.close()
    _LIVE.add(proc)
    msg = None
    try:
        if recv.poll(timeout):
            try:
                msg = recv.recv()
            except (EOFError, OSError):
                msg = None
        else:
            proc.kill()
            proc.join()
            return Outcome(False, error=f"timed out after {timeout:g} s; killed",
                           seconds=time.perf_counter() - t0)  # fmt: skip
        proc.join(30)
        if proc.is_alive():  # pragma: no cover - sent its result but will not exit
            proc.kill()
            proc.join()
    finally:
        recv.close()
        _LIVE.discard(proc)
    seconds = time.perf_counter() - t0
    if msg is None:
        code = proc.exitcode
        if code is not None and code < 0:
            # native code (polars, pyarrow) aborts when an allocation fails under RLIMIT_AS
            hint = ""
            if memory_mb and -code in (signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS):
                hint = f" (memory limit exceeded? {memory_mb} MB)"
            elif -code == signal.SIGKILL:
                hint = " (out of memory?)"
            return Outcome(False, error=f"case process killed by {_signal_name(code)}{hint}",
                           seconds=seconds)  # fmt: skip
        return Outcome(False, error=f"case process exited with code {code} without a result",
                       seconds=seconds)  # fmt: skip
    status, value = msg
    if status == "ok":
        return Outcome(True, value=value, seconds=seconds)
    return Outcome(False, error=value, seconds=seconds)


def kill_all() -> None:
    """Kill every child still running (the coordinator was interrupted)."""
    for proc in list(_LIVE):
        try:
            proc.kill()
        except (OSError, ValueError, AttributeError):
            pass
