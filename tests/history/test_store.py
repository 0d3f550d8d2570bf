from __future__ import annotations

import sqlite3
import threading

import pytest

from gate.errors import GateError, InputError
from gate.history import HistoryEntry, HistoryMetric, HistoryStore
from gate.history.store import MIGRATIONS
from gate.history.trend import render_trend, trend_points


def entry(model: str, version: str, ap: float, kind: str = "run") -> HistoryEntry:
    return HistoryEntry(
        kind=kind, model_name=model, model_version=version, weights_sha256="ab" * 32, line="synth",
        metrics=[HistoryMetric(suite=s, suite_version="1", backend="torch", metric="ap", value=ap + i / 10)
                 for i, s in enumerate(["clean", "night"])]
        + [HistoryMetric(suite="clean", suite_version="1", backend="torch", metric="ap50", value=0.9)],
    )


def test_created_on_first_use_with_current_schema(tmp_path):
    store = HistoryStore(tmp_path / "sub" / "h.sqlite")
    assert store.schema_version == len(MIGRATIONS)
    assert store.entries() == []


def test_record_and_filter(tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite")
    store.record(entry("synth-baseline", "1", 0.5))
    store.record(entry("synth-candidate", "1", 0.6, kind="compare"))
    everything = store.entries()
    assert [e.model_name for e in everything] == ["synth-baseline", "synth-candidate"]
    night = store.entries(suite="night", metric="ap")
    assert [[(m.suite, round(m.value, 3)) for m in e.metrics] for e in night] == [[("night", 0.6)], [("night", 0.7)]]
    assert [e.kind for e in store.entries(kind="compare")] == ["compare"]


def test_corrupt_database_is_a_clear_error_and_untouched(tmp_path):
    path = tmp_path / "h.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    before = path.read_bytes()
    with pytest.raises(InputError, match="corrupt or not a database"):
        HistoryStore(path).entries()
    assert path.read_bytes() == before


def test_locked_database_is_a_clear_error_and_keeps_records(tmp_path):
    path = tmp_path / "h.sqlite"
    store = HistoryStore(path, timeout_s=0.2)
    store.record(entry("m", "1", 0.5))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(GateError, match="locked"):
            store.record(entry("m", "2", 0.6))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert [e.model_version for e in store.entries()] == ["1"]


def test_concurrent_writers_lose_nothing(tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite")
    store.entries()  # create schema once

    def write(worker: int) -> None:
        for i in range(10):
            HistoryStore(store.path).record(entry(f"w{worker}", str(i), 0.1))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.entries()) == 40


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "h.sqlite"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    conn.close()
    with pytest.raises(InputError, match="newer than this tsrgate"):
        HistoryStore(path).entries()


def test_trend_plot_is_deterministic_svg(tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite")
    for v, ap in (("1", 0.4), ("2", 0.5), ("3", 0.45)):
        store.record(entry("synth", v, ap))
    points = trend_points(store.entries(metric="ap"), "ap")
    assert len(points) == 6
    first, second = render_trend(points, "ap"), render_trend(points, "ap")
    assert first == second and first.startswith(b"<?xml")
    assert b"night" in first


def test_cli_history_table_and_plot(tmp_path, run_cli):
    db = tmp_path / "h.sqlite"
    HistoryStore(db).record(entry("synth-baseline", "1", 0.5))
    plot = tmp_path / "trend.svg"
    result = run_cli("history", "--db", db, "--metric", "ap", "--plot", plot)
    assert result.exit_code == 0, result.output
    assert "synth-baseline@1" in result.output and "clean=0.500" in result.output
    assert plot.read_bytes().startswith(b"<?xml")
