"""GitHub Actions output: `::error` / `::warning` annotations and the job summary."""

from __future__ import annotations

import os
from pathlib import Path

import click

from gate.results.verdict import GateVerdict


def _escape(text: str) -> str:
    # Workflow-command data must escape %, CR and LF (GitHub's documented encoding).
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def annotations(verdict: GateVerdict, limit: int = 50) -> list[str]:
    lines = [f"::error title=tsrgate {o.rule_id}::{_escape(o.reason)}" for o in verdict.failing()[:limit]]
    lines += [f"::warning title=tsrgate {o.rule_id}::{_escape(o.reason)}" for o in verdict.warnings()[:limit]]
    return lines


def emit_github(verdict: GateVerdict, out: Path | None) -> None:
    for line in annotations(verdict):
        click.echo(line)
    summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not summary_path:
        return
    from gate.report.markdown import render_markdown

    with open(summary_path, "a", encoding="utf-8") as handle:
        handle.write(render_markdown(verdict, report_location=str(out / "report.html") if out else None))
        handle.write("\n")
