"""`tsrgate run`: evaluate a model on suites and backends into a sealed results folder."""

from __future__ import annotations

from pathlib import Path

import click

from gate.cli.options import history_db_option, location_options, split_list, threads_option


@click.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--suites", default=None, help="Comma-separated suite names (or set them in --config).")
@click.option("--backends", default=None, help="Comma-separated backends, e.g. torch,onnx,int8[,tensorrt].")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None,
              help="YAML gate config (suites, backends, policy, baseline, latency).")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Results folder to write.")
@click.option("--force", is_flag=True, help="Replace an existing results folder.")
@threads_option()
@click.option("--no-latency", is_flag=True, help="Skip latency measurement.")
@location_options
@click.option("--line", default=None, help="Model line recorded in the history.")
@history_db_option
@click.option("--no-history", is_flag=True, help="Do not record this run in the history.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@click.option("--executor", type=click.Choice(["inprocess", "ray"]), default="inprocess", show_default=True,
              help="Who computes predictions: this process, or Ray workers (needs `pip install tsrgate[ray]`). "
                   "Metrics are identical either way; latency is always measured in this process.")
@click.option("--address", default=None,
              help="With --executor ray: the Ray cluster to join (e.g. ray://head:10001 or head:6379); "
                   "default: start a local Ray instance sized to this machine.")
@click.option("--workers", type=int, default=None,
              help="With --executor ray: shards predicted at once (default: every CPU, one per --threads).")
@click.option("--shard-images", type=int, default=None,
              help="With --executor ray: images per shard, rounded up to whole batches (default: about four "
                   "shards per worker).")
def run(model, suites, backends, config_path, out, force, threads, no_latency, cache, suites_dir, data, line,
        history_db, no_history, quiet, executor, address, workers, shard_images) -> None:
    """Evaluate MODEL (a model folder) on suites and backends; write a results folder to --out."""
    from gate.run import run_model
    from gate.results.config import resolve_gate_config
    from gate.run.executors import make_executor
    from gate.run.history_hook import record_run

    config = resolve_gate_config(config_path, suites=split_list(suites), backends=split_list(backends), threads=threads,
                                 latency=not no_latency)
    echo = (lambda msg: None) if quiet else (lambda msg: click.echo(msg, err=True))
    predictions = make_executor(executor, address=address, workers=workers, shard_images=shard_images, log=echo)
    record = run_model(model, config, out, force=force, cache=cache, suites_dir=suites_dir, data=data,
                       progress=not quiet, log=echo, executor=predictions)
    click.echo(f"{record.model.name} ({record.model.weights_sha256[:12]}) on {len(record.suites)} suite(s):")
    click.echo(f"  {'suite':<18} {'backend':<14} {'status':<12} {'AP':>6} {'AP50':>6}")
    for e in record.entries:
        ap = f"{e.summary['ap']:.3f}" if e.status == "ok" else "-"
        ap50 = f"{e.summary['ap50']:.3f}" if e.status == "ok" else "-"
        status = e.status + (" (cached)" if e.predictions_from_cache else "")
        click.echo(f"  {e.suite:<18} {e.backend:<14} {status:<12} {ap:>6} {ap50:>6}")
    for b in record.backends:
        if not b.ok:
            click.echo(f"  {b.summary}")
    if record.executor.kind != "inprocess":
        click.echo(f"  predictions: {record.executor.summary()}; latency measured {record.executor.latency_measured_in}")
    if not no_history:
        record_run(record, out, history_db, line)
    click.echo(f"results written to {out}")


COMMANDS = [run]
