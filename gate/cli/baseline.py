"""`tsrgate baseline promote|list|show`: the stored baselines of model lines."""

from __future__ import annotations

from pathlib import Path

import click

from gate.cli.options import baselines_dir_option
from gate.storage import dump_json


def _store(baselines_dir: str | None):
    from gate.baselines import BaselineStore

    return BaselineStore(baselines_dir)


@click.group()
def baseline() -> None:
    """Promote, list and show stored baselines."""


@baseline.command()
@click.argument("results", type=click.Path(path_type=Path))
@click.option("--line", required=True, help="Model line, e.g. 'synth'.")
@click.option("--force", is_flag=True, help="Replace the line's current baseline (the old one stays in history).")
@click.option("--verdict", "verdict_path", type=click.Path(path_type=Path), help="The verdict JSON that allowed it.")
@click.option("--signed-by", default=None, help="Who signs the promotion (default: git user.name or $USER).")
@click.option("--note", default="", help="Free text stored in the sign-off record.")
@baselines_dir_option
def promote(results, line, force, verdict_path, signed_by, note, baselines_dir) -> None:
    """Store RESULTS (a sealed results folder) as the baseline of a model line."""
    version = _store(baselines_dir).promote(
        results, line, force=force, signed_by=signed_by, verdict_path=verdict_path, note=note
    )
    click.echo(f"promoted {results} as baseline {line}/{version.version} (signed by {version.signoff.signed_by})")


@baseline.command("list")
@baselines_dir_option
def list_baselines(baselines_dir) -> None:
    """List model lines and their current baselines."""
    store = _store(baselines_dir)
    lines = store.lines()
    if not lines:
        click.echo(f"no baselines in {store.root}")
        return
    click.echo(f"{'line':<24} {'current':<8} {'versions':>8}  promoted")
    for line in lines:
        history = store.history(line)
        current = next((v for v in history if v.current), None)
        when = current.signoff.promoted_at if current else "-"
        click.echo(f"{line:<24} {current.version if current else '-':<8} {len(history):>8}  {when}")


@baseline.command()
@click.argument("line")
@click.option("--json", "as_json", is_flag=True, help="Print the history as JSON.")
@baselines_dir_option
def show(line, as_json, baselines_dir) -> None:
    """Show a line's baseline history with sign-off records."""
    history = _store(baselines_dir).history(line)
    if as_json:
        click.echo(dump_json([v.model_dump(mode="json") for v in history]), nl=False)
        return
    for v in history:
        mark = "*" if v.current else " "
        s = v.signoff
        verdict = s.verdict.outcome if s.verdict else "none recorded"
        click.echo(f"{mark} {v.version}  {s.promoted_at}  by {s.signed_by}  commit {s.git_commit or '-'}  verdict {verdict}")
        click.echo(f"    from {s.source_results}")


COMMANDS = [baseline]
