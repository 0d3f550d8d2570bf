"""`tsrgate report` (a verdict as HTML, Markdown, JUnit or JSON) and `tsrgate signoff` (the release document)."""

from __future__ import annotations

from pathlib import Path

import click

from gate.cli.options import baselines_dir_option, history_db_option, location_options, split_list, threads_option
from gate.report.formats import FORMATS


def _with_locations(command):
    return location_options(history_db_option(command))


@click.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="html", show_default=True, help="Report format.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="File to write.")
@click.option("--gallery", "gallery_per_kind", type=click.IntRange(0, 50), default=3, show_default=True,
              help="Gallery examples per kind and suite (HTML).")
@_with_locations
def report(source, fmt, out, gallery_per_kind, cache, suites_dir, data, history_db) -> None:
    """Write the report of SOURCE (a verdict.json, the folder `tsrgate compare --out` wrote, or a run results folder)."""
    from gate.report.formats import render_report
    from gate.storage import atomic_write_text

    text, described = render_report(source, fmt, cache=cache, suites_dir=suites_dir, data=data,
                                    history_db=history_db, gallery_per_kind=gallery_per_kind)
    atomic_write_text(out, text)
    click.echo(f"{fmt} report of {described} written to {out}")


@click.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--line", required=True, help="Model line whose current baseline the candidate is signed off against.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Sign-off HTML file to write.")
@click.option("--suites", default=None, help="Comma-separated suites (default: every shipped suite the baseline covers).")
@click.option("--backends", default=None, help="Comma-separated backends (default: every backend tsrgate knows).")
@click.option("--results", "results_dir", type=click.Path(path_type=Path), default=None,
              help="Results folder to write or reuse (default: results/signoff/<model>-<weights>).")
@click.option("--policy", "policy_path", type=click.Path(path_type=Path), default=None,
              help="Policy (default: gate/policies/release.yaml).")
@baselines_dir_option
@click.option("--prepared-by", default=None, help="Name printed as the preparer of the document.")
@threads_option()
@click.option("--no-latency", is_flag=True, help="Do not re-time candidate and baseline interleaved.")
@click.option("--no-history", is_flag=True, help="Do not record the run and comparison in the history.")
@click.option("--quiet", is_flag=True, help="No progress lines on stderr (the verdict lines still print).")
@click.option("--evidence", "evidence_path", type=click.Path(path_type=Path), default=None,
              help="Also write the requirement traceability (requirement -> rules -> scopes -> outcome -> "
                   "evidence hashes) as JSON here, for a safety case.")
@_with_locations
def signoff(model, line, out, suites, backends, results_dir, policy_path, baselines_dir, prepared_by, threads,
            no_latency, no_history, quiet, evidence_path, cache, suites_dir, data, history_db) -> None:
    """Run MODEL on every shipped suite and backend, compare with the line's baseline, write the sign-off HTML."""
    from gate.errors import EXIT_FINDINGS, EXIT_OK
    from gate.signoff import prepare_signoff

    outcome = prepare_signoff(
        model, line, out, suites=split_list(suites), backends=split_list(backends), results_dir=results_dir,
        policy_path=policy_path, baselines_dir=baselines_dir, cache=cache, suites_dir=suites_dir, data=data,
        history_db=history_db, prepared_by=prepared_by, latency=not no_latency, threads=threads,
        record_history=not no_history, evidence_path=evidence_path, log=(lambda m: None) if quiet else (lambda m: click.echo(m, err=True)),
    )
    verdict = outcome.verdict
    c = verdict.counts
    click.echo(f"sign-off verdict: {verdict.outcome.upper()} ({verdict.candidate.model.name} vs line {line}: "
               f"{c['fail']} failed, {c['warn']} warnings, {c['insufficient_support'] + c['not_run']} not judged)")
    for b in verdict.candidate.backends:
        if not b.ok:
            click.echo(f"  {b.summary}")
    click.echo(f"results: {outcome.results_path}{' (reused)' if outcome.results_reused else ''}")
    click.echo(f"sign-off document written to {outcome.html_path} (verdict: {outcome.verdict_path})")
    if outcome.evidence_path is not None:
        click.echo(f"requirement traceability written to {outcome.evidence_path}")
    click.get_current_context().exit(EXIT_FINDINGS if verdict.outcome == "fail" else EXIT_OK)


COMMANDS = [report, signoff]
