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
import re
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
        msg = ("error", _failure(exc, memory_mb)[0])
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
        return Outcome(False, error=_death(proc, memory_mb), seconds=seconds)
    status, value = msg
    if status == "ok":
        return Outcome(True, value=value, seconds=seconds)
    return Outcome(False, error=value, seconds=seconds)


def _death(proc, memory_mb: int | None) -> str:
    """Why a child ended without a result."""
    code = proc.exitcode
    if code is not None and code < 0:
        # native code (polars, pyarrow) aborts when an allocation fails under RLIMIT_AS
        hint = ""
        if memory_mb and -code in (signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS):
            hint = f" (memory limit exceeded? {memory_mb} MB)"
        elif -code == signal.SIGKILL:
            hint = " (out of memory?)"
        return f"case process killed by {_signal_name(code)}{hint}"
    return f"case process exited with code {code} without a result"


# ------------------------------------------------------------------ reusable case children
#: A reused child serves at most this many calls, then is replaced (bounds slow leaks).
MAX_CALLS = 100


_RESOURCE_FAILURE = re.compile(
    r"could not spawn threads|Resource temporarily unavailable|Cannot allocate memory|"
    r"memory allocation|out of memory|std::bad_alloc",
    re.IGNORECASE,
)


def _failure(exc: BaseException, memory_mb: int | None) -> tuple[str, bool]:
    """A case's exception as one line, and whether it is the memory limit speaking: under
    the address-space limit native libraries fail to map thread stacks or buffers and say
    so in their own words (polars: "could not spawn threads")."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    line = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    if memory_mb and _RESOURCE_FAILURE.search(text):
        return f"memory limit exceeded ({memory_mb} MB): {line}", True
    return line, False


def _serve(memory_mb: int | None, conn) -> None:
    """A reusable child: run ``(fn, arg)`` jobs one at a time until told to stop (None),
    the parent goes away (EOF), or a job exhausts memory (the process is then suspect)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _limit_memory(memory_mb)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        fn, arg = job
        retire = False
        try:
            msg = ("ok", fn(arg))
        except MemoryError:
            msg, retire = ("error", f"memory limit exceeded ({memory_mb} MB)"), True
        except BaseException as exc:  # noqa: BLE001 - any failure of the case is its result
            text, retire = _failure(exc, memory_mb)
            msg = ("error", text)
        try:
            conn.send((*msg, retire))
        except MemoryError:
            conn.send(("error", f"memory limit exceeded ({memory_mb} MB)", True))
            retire = True
        except OSError:  # the parent is gone (killed): nobody to serve
            return
        if retire:
            return


class CaseWorker:
    """One reusable child process: the same limits and reasons as ``run_isolated``, without
    a fork and a cold start per call. Killed and replaced after a timeout or a crash."""

    def __init__(self, memory_mb: int | None):
        self.memory_mb = memory_mb
        ctx = _context()
        self.conn, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_serve, args=(memory_mb, child), daemon=False)
        _start(self.proc)
        child.close()
        self.calls = 0
        self.closed = False
        _LIVE.add(self.proc)

    @property
    def usable(self) -> bool:
        return not self.closed and self.proc.is_alive() and self.calls < MAX_CALLS

    def call(self, fn: Callable, arg, timeout: float | None) -> Outcome:
        if not self.usable:
            raise RuntimeError("this case worker is closed; start another")
        t0 = time.perf_counter()
        self.calls += 1
        try:
            self.conn.send((fn, arg))
        except (BrokenPipeError, OSError) as exc:
            self.close()
            return Outcome(False, error=f"case process unavailable: {exc}")
        msg = None
        if self.conn.poll(timeout):
            try:
                msg = self.conn.recv()
            except (EOFError, OSError):
                msg = None
        else:
            self.close(kill=True)
            return Outcome(False, error=f"timed out after {timeout:g} s; killed",
                           seconds=time.perf_counter() - t0)  # fmt: skip
        seconds = time.perf_counter() - t0
        if msg is None:
            self.proc.join(30)
            error = _death(self.proc, self.memory_mb)
            self.close()
            return Outcome(False, error=error, seconds=seconds)
        status, value, retire = msg
        if retire:  # the child exits after this answer: never send it another job
            self.close()
        if status == "ok":
            return Outcome(True, value=value, seconds=seconds)
        return Outcome(False, error=value, seconds=seconds)

    def close(self, kill: bool = False) -> None:
        """Stop the child: politely when idle, killed when ``kill`` (busy past its time)."""
        if self.closed:
            return
        self.closed = True
        if self.proc.is_alive():
            if not kill:
                try:
                    self.conn.send(None)
                except (OSError, ValueError):
                    pass
                self.proc.join(2)
            if self.proc.is_alive():
                self.proc.kill()
                self.proc.join()
        self.conn.close()
        _LIVE.discard(self.proc)


_LOCAL = threading.local()


def run_reused(
    fn: Callable, arg, timeout: float | None = None, memory_mb: int | None = None
) -> Outcome:
    """``run_isolated`` on this thread's reusable child (started, or replaced, as needed)."""
    worker = getattr(_LOCAL, "worker", None)
    if worker is not None and (not worker.usable or worker.memory_mb != memory_mb):
        worker.close()
        worker = None
    if worker is None:
        worker = _LOCAL.worker = CaseWorker(memory_mb)
    outcome = worker.call(fn, arg, timeout)
    if not worker.usable:
        worker.close()
        _LOCAL.worker = None
    return outcome


def kill_all() -> None:
    """Kill every child still running (the coordinator was interrupted)."""
    for proc in list(_LIVE):
        try:
            proc.kill()
            proc.join(5)
        except (OSError, ValueError, AttributeError, AssertionError):
            pass
        _LIVE.discard(proc)
