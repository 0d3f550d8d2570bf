"""Model history: every run, compare and promotion recorded in an embedded SQLite store."""

from gate.history.store import HistoryEntry, HistoryMetric, HistoryStore, default_history_path

__all__ = ["HistoryEntry", "HistoryMetric", "HistoryStore", "default_history_path"]
