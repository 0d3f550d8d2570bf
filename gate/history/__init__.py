"""Model history: every run, compare and promotion recorded in an embedded SQLite store.

Owns: the store (schema, atomic inserts, queries) and metric trends; the stages that record into it live above.
"""

from gate.history.store import HistoryEntry, HistoryMetric, HistoryStore, default_history_path

__all__ = ["HistoryEntry", "HistoryMetric", "HistoryStore", "default_history_path"]
