"""Trend tables and plots of one metric per suite across the recorded model versions."""

from __future__ import annotations

import io
from pathlib import Path

from pydantic import BaseModel

from gate.history.store import HistoryEntry
from gate.storage import atomic_write_bytes


class TrendPoint(BaseModel):
    event_id: int
    label: str  # model name@version (or weights prefix), in recording order
    recorded_at: str
    suite: str
    backend: str
    value: float | None


def trend_points(entries: list[HistoryEntry], metric: str, backend: str = "torch") -> list[TrendPoint]:
    """One point per (event, suite) for `metric` on `backend`, oldest first."""
    points = []
    for entry in entries:
        label = f"{entry.model_name or '?'}@{entry.model_version or (entry.weights_sha256 or '')[:8]}"
        for m in entry.metrics:
            if m.metric == metric and m.backend == backend:
                points.append(TrendPoint(event_id=entry.id or 0, label=label, recorded_at=entry.recorded_at,
                                         suite=m.suite, backend=m.backend, value=m.value))
    return points


def render_trend(points: list[TrendPoint], metric: str, fmt: str = "svg") -> bytes:
    """A line per suite over the recorded events (x: event order, labelled by model)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Deterministic SVG output: no random ids, no timestamp.
    matplotlib.rcParams["svg.hashsalt"] = "tsrgate"
    matplotlib.rcParams["svg.fonttype"] = "none"
    events = sorted({p.event_id for p in points})
    labels = {p.event_id: p.label for p in points}
    fig, ax = plt.subplots(figsize=(7.5, 3.6), dpi=100)
    for suite in sorted({p.suite for p in points}):
        series = sorted((events.index(p.event_id), p.value) for p in points if p.suite == suite and p.value is not None)
        if series:
            ax.plot([x for x, _ in series], [y for _, y in series], marker="o", label=suite)
    ax.set_xticks(range(len(events)))
    ax.set_xticklabels([labels[e] for e in events], rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} per suite across recorded runs")
    ax.grid(alpha=0.3)
    if points:
        ax.legend(fontsize=7, ncol=2, loc="best")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    plt.close(fig)
    return buffer.getvalue()


def write_trend_plot(points: list[TrendPoint], metric: str, out: str | Path) -> Path:
    out = Path(out)
    fmt = out.suffix.lstrip(".").lower() or "svg"
    if fmt not in {"svg", "png"}:
        from gate.errors import InputError

        raise InputError("plot file must end in .svg or .png", path=out)
    atomic_write_bytes(out, render_trend(points, metric, fmt))
    return out
