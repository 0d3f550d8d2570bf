"""`tsrgate compare CANDIDATE BASELINE`: the gate's verdict and its exit code."""

from __future__ import annotations

import os
from pathlib import Path

import click

from gate.cli.options import baselines_dir_option, history_db_option, mlflow_option, tracking_uri
from gate.errors import EXIT_FINDINGS, EXIT_OK


def _line(o) -> str:
    return f"  {o.outcome.upper():<5} {o.rule_id}: {o.reason}"


def print_summary(verdict, out_dir: Path | None) -> None:
    banner = {"pass": "PASS", "warn": "PASS with warnings", "fail": "FAIL"}[verdict.outcome]
    click.echo(f"verdict: {banner}  ({verdict.candidate.model.name} vs baseline {verdict.baseline.model.name}, "
               f"{len(verdict.suites)} suites, policy {verdict.policy.name})")
    c = verdict.counts
    click.echo(f"rules: {c['fail']} failed, {c['warn']} warnings, {c.get('cannot_detect', 0)} cannot detect, "
               f"{c['pass']} passed, {c['insufficient_support']} insufficient support, {c['not_run']} not run")
    if verdict.preprocessing is not None and verdict.preprocessing.changed:
        click.echo("preprocessing changed: " + "; ".join(verdict.preprocessing.changes))
    failing = verdict.failing()
    if failing:
        click.echo("failed:")
        for o in failing[:20]:
            click.echo(_line(o))
        if len(failing) > 20:
            click.echo(f"  ... and {len(failing) - 20} more (see the report)")
    warnings = verdict.warnings()
    if warnings:
        click.echo(f"warnings ({len(warnings)}):")
        for o in warnings[:5]:
            click.echo(_line(o))
        if len(warnings) > 5:
            click.echo(f"  ... and {len(warnings) - 5} more (see the report)")
    for note in verdict.notes:
        click.echo(f"note: {note}")
    if out_dir is not None:
        click.echo(f"verdict and reports written to {out_dir}")


@click.command()
@click.argument("candidate")
@click.argument("baseline", required=False)
@click.option("--policy", "policy_path", type=click.Path(path_type=Path), default=None, help="Policy YAML (default: the built-in default policy).")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None, help="Gate config giving the policy and baseline.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Folder for verdict.json and the reports.")
@baselines_dir_option
@click.option("--no-latency", is_flag=True, help="Do not re-time the two models interleaved; use the stored latencies.")
@click.option("--retime", is_flag=True, help="Re-time even when a timing of the same two model files on this machine is cached.")
@click.option("--github/--no-github", default=None, help="Emit GitHub annotations and job summary (default: on when GITHUB_ACTIONS=true).")
@history_db_option
@click.option("--no-history", is_flag=True, help="Do not record this comparison in the history.")
@mlflow_option("Log the comparison as an MLflow run (params, metrics, tags, reports as artifacts).")
def compare(candidate, baseline, policy_path, config_path, out, baselines_dir, no_latency, retime, github, history_db,
            no_history, mlflow_uri) -> None:
    """Compare CANDIDATE results with BASELINE (a results folder or a baseline line); exit 0 pass, 1 fail, 2 error."""
    from gate.errors import InputError
    from gate.results.config import load_gate_config
    from gate.results.verdict import VERDICT_FILE
    from gate.workflow import gate_results

    config = load_gate_config(config_path) if config_path else None
    baseline = baseline or (config.baseline if config else None)
    if baseline is None:
        raise InputError("no baseline given: pass BASELINE or set `baseline` in --config")
    policy_path = policy_path or (config.policy if config and config.policy else None)
    if github is None:
        github = os.environ.get("GITHUB_ACTIONS") == "true"
    verdict = gate_results(candidate, baseline, policy_path=policy_path, baselines_dir=baselines_dir,
                           latency=not no_latency, retime=retime, verdict_path=out / VERDICT_FILE if out is not None else None,
                           reports_dir=out, history_db=history_db, record_history=not no_history, github=github,
                           mlflow_uri=tracking_uri(mlflow_uri) if mlflow_uri is not None else None,
                           log=lambda m: click.echo(m, err=True))
    print_summary(verdict, out)
    click.get_current_context().exit(EXIT_FINDINGS if verdict.outcome == "fail" else EXIT_OK)


COMMANDS = [compare]
