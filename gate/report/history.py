"""History trends for reports: recorded runs from the history store, and a line's promoted baselines.

The history store (gate.history) holds every run, comparison and promotion; a report shows the
trend of AP per suite across the versions of the models it is about, one point per weights hash
(repeated runs of the same weights are the same model version). The sign-off report also draws
the line's baselines, read from their stored results folders, so it works without a history
database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gate.errors import GateError


@dataclass
class TrendSection:
    svg: str | None = None
    note: str = ""
    rows: list[dict] = field(default_factory=list)  # one per model version: label, kind, when, values


def _dedupe_by_weights(entries):
    """The latest event per weights hash, kept in the order each version was first recorded."""
    first_seen: dict[str, int] = {}
    latest = {}
    for entry in entries:
        key = entry.weights_sha256 or f"event-{entry.id}"
        first_seen.setdefault(key, len(first_seen))
        latest[key] = entry
    return [latest[k] for k in sorted(first_seen, key=first_seen.get)]


def model_history(model_names: list[str], db: str | Path | None, metric: str = "ap", backend: str = "torch",
                  line: str | None = None) -> TrendSection:
    """Trend of `metric` per suite over the recorded versions of the named models (and of `line`)."""
    from gate.history import HistoryStore
    from gate.history.trend import trend_points
    from gate.report.plots import history_trend_svg

    store = HistoryStore(db)
    # One wording whether the database is missing or holds no runs of these models: `compare` records
    # itself after writing its reports, so the next compare must not read differently for that alone.
    nothing = f"no recorded runs of {', '.join(model_names)} in {store.path} (history database); nothing to draw"
    if not store.path.is_file():
        return TrendSection(note=nothing)
    try:
        entries = store.entries(metric=metric, backend=backend)
    except GateError as exc:
        return TrendSection(note=f"history unavailable: {exc}")
    wanted = [e for e in entries if e.kind in ("run", "promote")
              and (e.model_name in model_names or (line is not None and e.line == line)) and e.metrics]
    versions = _dedupe_by_weights(wanted)
    if not versions:
        return TrendSection(note=nothing)
    rows = [{"label": f"{e.model_name}@{e.model_version or (e.weights_sha256 or '')[:8]}", "kind": e.kind,
             "when": e.recorded_at, "weights": e.weights_sha256 or "",
             "values": {m.suite: m.value for m in e.metrics}} for e in versions]
    points = trend_points(versions, metric, backend)
    return TrendSection(svg=history_trend_svg(points, metric), rows=rows,
                        note=f"{metric} ({backend}) per suite, one point per model version recorded in {store.path}")
