"""Resumable batch state: ``DIR/.zdiag/state.sqlite``.

Only the coordinator writes it (one connection, one process). ``cases`` holds one row per
case id with its status (pending, running, done, failed) and index row; ``events`` is an
append-only log (start, done, failed, adopted, requeued) that makes "every case done exactly
once" checkable; ``entries`` caches inbox entry → case id by a size/mtime signature so that
polling an inbox does not hash unchanged entries again.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, entry TEXT NOT NULL, status TEXT NOT NULL,
    error TEXT, row TEXT, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    n INTEGER PRIMARY KEY AUTOINCREMENT, case_id TEXT NOT NULL, event TEXT NOT NULL,
    at REAL NOT NULL, detail TEXT);
CREATE TABLE IF NOT EXISTS entries (
    path TEXT PRIMARY KEY, sig TEXT NOT NULL, case_id TEXT NOT NULL);
"""

FINAL = ("done", "failed")


class State:
    def __init__(self, out: Path):
        self.dir = Path(out) / ".zdiag"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / "state.sqlite"
        self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def _event(self, cid: str, event: str, detail: str | None = None) -> None:
        self.db.execute(
            "INSERT INTO events (case_id, event, at, detail) VALUES (?, ?, ?, ?)",
            (cid, event, time.time(), detail),
        )

    # -- entries cache
    def cached_id(self, path: str, sig: str) -> str | None:
        row = self.db.execute("SELECT sig, case_id FROM entries WHERE path = ?", (path,)).fetchone()
        return row[1] if row and row[0] == sig else None

    def remember(self, path: str, sig: str, cid: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO entries (path, sig, case_id) VALUES (?, ?, ?)", (path, sig, cid)
        )

    # -- cases
    def status(self, cid: str) -> str | None:
        row = self.db.execute("SELECT status FROM cases WHERE id = ?", (cid,)).fetchone()
        return row[0] if row else None

    def requeue_interrupted(self) -> int:
        """Cases left ``running`` by a run that was killed go back to pending."""
        with self.db:
            ids = [r[0] for r in self.db.execute("SELECT id FROM cases WHERE status = 'running'")]
            for cid in ids:
                self._event(cid, "requeued", "the run that started it did not finish")
            self.db.execute(
                "UPDATE cases SET status = 'pending', updated = ? WHERE status = 'running'",
                (time.time(),),
            )
        return len(ids)

    def start(self, cid: str, name: str, entry: str) -> None:
        with self.db:
            self.db.execute(
                "INSERT INTO cases (id, name, entry, status, updated) VALUES (?, ?, ?, 'running', ?)"
                " ON CONFLICT(id) DO UPDATE SET status = 'running', name = excluded.name,"
                " entry = excluded.entry, updated = excluded.updated",
                (cid, name, entry, time.time()),
            )
            self._event(cid, "start")

    def finish(self, row: dict, event: str | None = None) -> None:
        """Record a case's final row (``event``: done/failed, or ``adopted`` for a case
        whose finished folder was found on disk without a record)."""
        status = row["status"]
        with self.db:
            self.db.execute(
                "INSERT INTO cases (id, name, entry, status, error, row, updated)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET"
                " status = excluded.status, error = excluded.error, row = excluded.row,"
                " name = excluded.name, entry = excluded.entry, updated = excluded.updated",
                (
                    row["case"],
                    row["name"],
                    row["entry"],
                    status,
                    row.get("error"),
                    json.dumps(row, default=str),
                    time.time(),
                ),  # fmt: skip
            )
            self._event(row["case"], event or status, row.get("error"))

    def rows(self) -> list[dict]:
        """Index rows of every finished case, sorted by name then id."""
        cur = self.db.execute(
            "SELECT row FROM cases WHERE status IN ('done', 'failed') ORDER BY name, id"
        )
        return [json.loads(r[0]) for r in cur]

    def events(self) -> list[tuple[str, str]]:
        return [tuple(r) for r in self.db.execute("SELECT case_id, event FROM events ORDER BY n")]
