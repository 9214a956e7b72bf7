"""Tables larger than memory, kept on disk in buckets (SPEC §7: a 1 GB input stays under 2 GB).

When ``zdiag scan`` (or a batch case) meets a file that is parsed in pieces
(:mod:`zdiag.stream`), the pieces' rows of a table named in :data:`BUCKET_KEYS` (packets,
connections, messages, routes, arp) are not joined in memory: each piece is written at once to
``<root>/<table>/bucket-NNN/part-NNNNN.parquet``. Packets are spread over the buckets by a
hash of ``conn`` and netstat connections by a hash of their 4-tuple, so every connection
lies whole in one bucket; the other tables' pieces go to the buckets in turn. Part numbers
keep the file order.
:func:`zdiag.rules.scan.scan_tables` then reads the table back a bucket at a time and keeps
in memory only the rows each rule considers and the rows findings point at.

The spill folder is a temporary directory (under ``$TMPDIR``), removed by :meth:`Spill.close`
or when the object is garbage collected; a folder whose process was killed is removed by the
next :class:`Spill` made in the same place (:func:`sweep`).
"""

from __future__ import annotations

import math
import os
import shutil
import socket
import tempfile
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import polars as pl

#: tables that may be spilled (the large ones: one row per packet, per connection, route or
#: ARP entry in each snapshot, per message), and the columns whose rows stay together in one
#: bucket: a connection's packets (zdiag's TCP analysis needs them all) and a connection's
#: snapshots (the stuck-connection rules group by its 4-tuple, so they run bucket by
#: bucket); the other tables' pieces go to the buckets in turn
BUCKET_KEYS: dict[str, tuple[str, ...]] = {
    "packets": ("conn",),
    "connections": ("local_ip", "local_port", "remote_ip", "remote_port"),
    "messages": (),
    "routes": (),
    "arp": (),
}
#: input bytes per bucket (~160k packets): a bucket with its analysis columns stays near the
#: memory of one parsed piece, so a scan peaks no higher than its parse
BUCKET_BYTES = 16 * 1024 * 1024
MAX_BUCKETS = 512


class Part(NamedTuple):
    """One part of a spilled table as written: its number, the source of its rows, how many
    rows, the buckets it went to, and whether it holds a whole file's table (not a piece of
    a file read in pieces)."""

    number: int
    source: str
    rows: int
    buckets: tuple[int, ...]
    whole: bool


PREFIX = "zdiag-spill-"
#: a spill folder's owner: "<pid> <process start time> <host name>" (the start time from
#: Linux /proc; "-" elsewhere)
OWNER = "owner"
#: a spill folder without an owner file is left alone until it is this old (seconds)
UNOWNED_AGE = 3600


def _started(pid: int) -> str:
    """The process's start time (clock ticks after boot, /proc/<pid>/stat field 22), or "-"
    where there is no /proc or the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
        return stat[stat.rindex(")") + 2 :].split()[19]
    except (OSError, ValueError, IndexError):
        return "-"


def _owner_text(pid: int) -> str:
    return f"{pid} {_started(pid)} {socket.gethostname()}\n"


def _alive(owner: str) -> bool:
    """Whether the process an owner file names still runs (and is the same process: a pid
    taken again by another process has another start time). A folder another host (or
    container) made, in a temporary folder they share, is not ours to judge: alive."""
    try:
        pid_text, started, *host = owner.split()
        pid = int(pid_text)
    except ValueError:
        return False
    if host and host[0] != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        pass
    except OSError:
        return True  # cannot tell: keep
    now = _started(pid)
    return started == "-" or now == "-" or now == started


def sweep(parent: str | Path, keep: Path | None = None) -> list[Path]:
    """Remove the spill folders under ``parent`` whose owner process is gone: a process
    killed (SIGKILL, a batch case over its time or memory limit) cannot remove its own.
    Only folders named ``zdiag-spill-*``; one without an owner file only once it is older
    than :data:`UNOWNED_AGE`. Never raises; returns the folders removed."""
    gone: list[Path] = []
    try:
        folders = [p for p in Path(parent).glob(PREFIX + "*") if p.is_dir() and p != keep]
    except OSError:
        return gone
    for folder in folders:
        try:
            owner = (folder / OWNER).read_text(encoding="ascii", errors="replace")
        except FileNotFoundError:
            owner = None
        except OSError:
            continue
        try:
            if owner is None:
                if time.time() - folder.stat().st_mtime < UNOWNED_AGE:
                    continue
            elif _alive(owner):
                continue
            shutil.rmtree(folder, ignore_errors=True)
            if not folder.exists():
                gone.append(folder)
        except OSError:
            continue
    return gone


class Spill:
    """A temporary folder of bucketed parquet parts, table by table. Creating one removes
    the folders of spills whose process died (:func:`sweep`)."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(tempfile.mkdtemp(prefix=PREFIX, dir=root))
        self._cleanup = weakref.finalize(self, shutil.rmtree, str(self.root), True)
        try:  # who owns the folder, so that a later Spill can tell a dead owner's from a live one
            (self.root / OWNER).write_text(_owner_text(os.getpid()), encoding="ascii")
        except OSError:
            pass
        sweep(self.root.parent, keep=self.root)
        self.nbuckets = 0
        self.rows: dict[str, int] = {}
        #: per table, each part written (:class:`Part`)
        self.parts: dict[str, list[Part]] = {}
        #: per source read in pieces, its tables in the order they first appeared (spilled or
        #: kept in memory: the order a whole parse gives them)
        self.order: dict[str, list[str]] = {}
        self._parts = 0

    def plan(self, input_bytes: int) -> None:
        """Fix the number of buckets before the first rows arrive (from the size of the
        first file that spills; later files share the buckets)."""
        if not self.nbuckets:
            self.nbuckets = min(MAX_BUCKETS, max(1, math.ceil(input_bytes / BUCKET_BYTES)))

    def wants(self, name: str) -> bool:
        return name in BUCKET_KEYS

    @property
    def tables(self) -> list[str]:
        return [name for name, n in self.rows.items() if n]

    def write(self, name: str, df: pd.DataFrame | pl.DataFrame, whole: bool = False) -> None:
        """Add one piece of table ``name``: each bucket's rows become one more part (and,
        when the rows are spread by hash, their buckets in row order go to
        ``<table>/order/part-NNNNN.npy`` so that :meth:`piece` can put them back in order).
        ``whole``: the piece is a whole file's table (a file not read in pieces)."""
        from zdiag.stream import arrow_part, write_slices

        if df is None or not len(df):
            return
        self.plan(BUCKET_BYTES)
        frame = df if isinstance(df, pl.DataFrame) else pl.from_pandas(df)
        keys = [k for k in BUCKET_KEYS[name] if k in frame.columns]
        self._parts += 1
        # the piece is conformed to the table's schema once, then cut into one file per
        # bucket (a file's fixed cost is paid per bucket, the conversion per piece)
        table, options = arrow_part(name, df)
        if keys and self.nbuckets > 1:
            h = frame.select(pl.struct(keys).hash(seed=0) % self.nbuckets).to_series()
            h = h.to_numpy().astype(np.uint16)
            order = self.root / name / "order"
            order.mkdir(parents=True, exist_ok=True)
            np.save(order / f"part-{self._parts:05d}.npy", h)
            table = table.take(np.argsort(h, kind="stable"))
            counts = np.bincount(h, minlength=self.nbuckets)
            used = np.flatnonzero(counts).tolist()
            sizes = counts[used].tolist()
        else:  # nothing to keep together: the whole piece to the next bucket in turn
            used, sizes = [self._parts % self.nbuckets], [len(frame)]
        paths = []
        for b in used:
            folder = self.folder(name, b)
            folder.mkdir(parents=True, exist_ok=True)
            paths.append(folder / f"part-{self._parts:05d}.parquet")
        write_slices(table, options, zip(paths, sizes, strict=True))
        parts = dict.fromkeys(used)
        self.rows[name] = self.rows.get(name, 0) + len(frame)
        source = str(frame["source"][0]) if "source" in frame.columns else ""
        self.parts.setdefault(name, []).append(
            Part(self._parts, source, len(frame), tuple(sorted(parts)), whole)
        )

    def folder(self, name: str, bucket: int) -> Path:
        return self.root / name / f"bucket-{bucket:03d}"

    def buckets(self, name: str) -> Iterator[pd.DataFrame]:
        """The table a bucket at a time (pandas, schema dtypes), rows in file order."""
        for b in range(max(self.nbuckets, 1)):
            folder = self.folder(name, b)
            parts = sorted(folder.glob("part-*.parquet"))
            if parts:
                yield pd.read_parquet(parts)

    def piece(self, name: str, part: int, data: Path | None = None) -> pd.DataFrame:
        """Part ``part`` of table ``name`` as it was written (one piece: its rows from every
        bucket, back in their order); ``data``: read the buckets' files from this folder
        instead (a copy of ``<table>/bucket-NNN/part-NNNNN.parquet`` with more columns)."""
        buckets = next(p.buckets for p in self.parts[name] if p.number == part)
        base = data if data is not None else self.root / name
        frames = [pd.read_parquet(base / f"bucket-{b:03d}" / f"part-{part:05d}.parquet")
                  for b in buckets]  # fmt: skip
        df = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        order = self.root / name / "order" / f"part-{part:05d}.npy"
        if len(frames) > 1 and order.exists():
            # rows went to the buckets by hash, each bucket keeping their order: row i is
            # at position pos[i] of the buckets' rows joined in bucket order
            h = np.load(order)
            pos = np.empty(len(h), np.int64)
            pos[np.argsort(h, kind="stable")] = np.arange(len(h))
            df = df.take(pos).reset_index(drop=True)
        return df

    def close(self) -> None:
        """Remove the folder now."""
        self._cleanup()

    def __repr__(self) -> str:
        return f"Spill({self.root}, {self.nbuckets} buckets, {self.rows})"
