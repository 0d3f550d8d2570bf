"""The history database.

One SQLite file (created on first use) with a schema version in `PRAGMA user_version`; each
migration runs in its own transaction, so an interrupted upgrade leaves the previous schema intact.
Every record is written in one transaction: a crash never leaves half an entry, and earlier
records are never rewritten.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, Field

from gate.errors import GateError, InputError
from gate.storage import ensure_dir

HISTORY_ENV = "TSRGATE_HISTORY"

# Each entry upgrades the schema by one version. Never edit a shipped migration: append a new one.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL CHECK (kind IN ('run', 'compare', 'promote')),
        recorded_at TEXT NOT NULL,
        model_name TEXT,
        model_version TEXT,
        weights_sha256 TEXT,
        line TEXT,
        verdict TEXT,
        git_commit TEXT,
        results_path TEXT,
        details TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE metrics (
        event_id INTEGER NOT NULL REFERENCES events(id),
        suite TEXT NOT NULL,
        suite_version TEXT NOT NULL,
        backend TEXT NOT NULL,
        metric TEXT NOT NULL,
        value REAL
    );
    CREATE INDEX metrics_by_suite ON metrics(suite, metric);
    CREATE INDEX events_by_model ON events(model_name, line);
    """,
]


def default_history_path() -> Path:
    """$TSRGATE_HISTORY, else history.sqlite in the user's data folder for tsrgate."""
    if os.environ.get(HISTORY_ENV):
        return Path(os.environ[HISTORY_ENV])
    return Path(platformdirs.user_data_dir("tsrgate")) / "history.sqlite"


class HistoryMetric(BaseModel):
    suite: str
    suite_version: str
    backend: str
    metric: str
    value: float | None


class HistoryEntry(BaseModel):
    kind: Literal["run", "compare", "promote"]
    recorded_at: str = Field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    model_name: str | None = None
    model_version: str | None = None
    weights_sha256: str | None = None
    line: str | None = None
    verdict: str | None = None
    git_commit: str | None = None
    results_path: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    metrics: list[HistoryMetric] = Field(default_factory=list)
    id: int | None = None


class HistoryStore:
    def __init__(self, path: str | Path | None = None, timeout_s: float = 10.0):
        self.path = Path(path) if path is not None else default_history_path()
        self.timeout_s = timeout_s

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        ensure_dir(self.path.parent)
        try:
            conn = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None)
        except sqlite3.Error as exc:
            raise InputError(f"cannot open history database ({exc})", path=self.path) from None
        try:
            self._migrate(conn)
            yield conn
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise GateError(
                    f"history database is locked by another process (waited {self.timeout_s:g} s); retry later",
                    path=self.path,
                ) from None
            raise InputError(f"history database error ({exc})", path=self.path) from None
        except sqlite3.DatabaseError as exc:
            raise InputError(f"history database is corrupt or not a database ({exc}); it was left untouched",
                             path=self.path) from None
        finally:
            conn.close()

    def _migrate(self, conn: sqlite3.Connection) -> None:
        current = conn.execute("PRAGMA user_version").fetchone()[0]
        if current > len(MIGRATIONS):
            raise InputError(
                f"history schema version {current} is newer than this tsrgate knows ({len(MIGRATIONS)})", path=self.path
            )
        for version in range(current, len(MIGRATIONS)):
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in MIGRATIONS[version].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {version + 1}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    @property
    def schema_version(self) -> int:
        with self._connect() as conn:
            return conn.execute("PRAGMA user_version").fetchone()[0]

    def record(self, entry: HistoryEntry) -> int:
        """Append one event with its metrics in a single transaction; returns its id."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                cursor = conn.execute(
                    "INSERT INTO events (kind, recorded_at, model_name, model_version, weights_sha256, line, verdict,"
                    " git_commit, results_path, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (entry.kind, entry.recorded_at, entry.model_name, entry.model_version, entry.weights_sha256,
                     entry.line, entry.verdict, entry.git_commit, entry.results_path,
                     json.dumps(entry.details, sort_keys=True)),
                )
                event_id = cursor.lastrowid
                conn.executemany(
                    "INSERT INTO metrics (event_id, suite, suite_version, backend, metric, value) VALUES (?, ?, ?, ?, ?, ?)",
                    [(event_id, m.suite, m.suite_version, m.backend, m.metric, m.value) for m in entry.metrics],
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return event_id

    def entries(
        self,
        *,
        kind: str | None = None,
        line: str | None = None,
        model: str | None = None,
        suite: str | None = None,
        metric: str | None = None,
        backend: str | None = None,
    ) -> list[HistoryEntry]:
        """Events oldest first, each with its metrics filtered by suite / metric / backend."""
        clauses, params = [], []
        for column, value in (("kind", kind), ("line", line), ("model_name", model)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._connect() as conn:
            events = conn.execute(f"SELECT * FROM events {where} ORDER BY id", params).fetchall()
            columns = [d[0] for d in conn.execute("SELECT * FROM events LIMIT 0").description]
            result = []
            for raw in events:
                fields = dict(zip(columns, raw, strict=True))
                m_clauses, m_params = ["event_id = ?"], [fields["id"]]
                for column, value in (("suite", suite), ("metric", metric), ("backend", backend)):
                    if value is not None:
                        m_clauses.append(f"{column} = ?")
                        m_params.append(value)
                metrics = conn.execute(
                    f"SELECT suite, suite_version, backend, metric, value FROM metrics WHERE {' AND '.join(m_clauses)}"
                    " ORDER BY suite, backend, metric",
                    m_params,
                ).fetchall()
                fields["details"] = json.loads(fields["details"])
                fields["metrics"] = [
                    HistoryMetric(suite=s, suite_version=v, backend=b, metric=mt, value=val)
                    for s, v, b, mt, val in metrics
                ]
                result.append(HistoryEntry(**fields))
        return result
