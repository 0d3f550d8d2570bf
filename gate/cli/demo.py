"""`tsrgate demo`: the whole gate on the embedded default (what `make demo` runs)."""

from __future__ import annotations

from pathlib import Path

import click

from gate.cli.options import threads_option


@click.command()
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Report folder (default: reports/demo).")
@threads_option(help="CPU threads per backend (default: the config's, $TSRGATE_THREADS, else the cores up to 4).")
@click.option("--results", "results_root", type=click.Path(path_type=Path), default=None,
              help="Folder for the two models' results (default: results/demo).")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def demo(out, threads, results_root, quiet) -> None:
    """Gate the shipped synth-candidate against synth-baseline on the generated world; write reports/demo/."""
    from gate.cli.compare import print_summary
    from gate.demo import DemoModelsMissing, run_demo

    try:
        verdict, out_dir = run_demo(out, results_root, threads=threads, progress=not quiet, log=lambda m: click.echo(m, err=True))
    except DemoModelsMissing as missing:
        # What exists ran (world generated and checked, suites rendered and verified); the gate
        # steps did not, and the output says so in words rather than pretending a verdict.
        click.echo(f"NOT RUN: the gate steps (run, compare, reports). {missing}")
        return
    print_summary(verdict, out_dir)
    click.echo(f"open {out_dir / 'report.html'} for the full report (summary.md, junit.xml, verdict.json beside it)")


COMMANDS = [demo]
