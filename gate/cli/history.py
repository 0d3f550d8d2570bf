"""`tsrgate history`: what every recorded run, comparison and promotion measured."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("--line", default=None, help="Only events of this model line.")
@click.option("--model", default=None, help="Only events of this model name.")
@click.option("--suite", default=None, help="Only metrics of this suite.")
@click.option("--metric", default="ap", show_default=True, help="Metric to show.")
@click.option("--backend", default="torch", show_default=True, help="Backend whose metric is shown.")
@click.option("--plot", "plot_path", type=click.Path(path_type=Path), default=None, help="Write a trend plot (.svg or .png).")
@click.option("--db", type=click.Path(path_type=Path), default=None, help="History database (default: $TSRGATE_HISTORY or the user data folder).")
def history(line, model, suite, metric, backend, plot_path, db) -> None:
    """Print the recorded history of runs, comparisons and promotions."""
    from gate.history import HistoryStore
    from gate.history.trend import trend_points, write_trend_plot

    store = HistoryStore(db)
    entries = store.entries(line=line, model=model, suite=suite, metric=metric, backend=backend)
    if not entries:
        click.echo(f"no history recorded in {store.path}")
        return
    click.echo(f"{'#':>4}  {'when':<25} {'kind':<8} {'model':<28} {'line':<10} {'verdict':<8} {metric} per suite ({backend})")
    for e in entries:
        values = ", ".join(f"{m.suite}={m.value:.3f}" for m in e.metrics if m.value is not None) or "-"
        model_label = f"{e.model_name or '-'}@{e.model_version or (e.weights_sha256 or '-')[:8]}"
        click.echo(f"{e.id:>4}  {e.recorded_at:<25} {e.kind:<8} {model_label:<28} {e.line or '-':<10} {e.verdict or '-':<8} {values}")
    if plot_path is not None:
        write_trend_plot(trend_points(entries, metric, backend), metric, plot_path)
        click.echo(f"trend plot written to {plot_path}")


COMMANDS = [history]
