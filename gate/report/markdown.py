"""The Markdown summary of a verdict, sized for a pull-request comment and the GitHub job summary.

It starts with a hidden marker line, so a CI job can find its own earlier comment and edit it
instead of adding a new one. Tables are GitHub-flavoured (pipe tables); every user string is
escaped so a class name cannot inject markup or break a table; long tables end with a
"... N more" row, and the whole text stays under `MAX_CHARS` (GitHub rejects comments over 65,536).
"""

from __future__ import annotations

import os
import re

from gate.results.verdict import GateVerdict
from gate.policy import RuleOutcome
from gate.report import sections
from gate.report.grouping import OutcomeGroup, brief_note, p_text
from gate.report.view import ReportView

REPORT_MARKER = "<!-- tsrgate-report -->"
MAX_CHARS = 10_000
MAX_REASON = 300

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>])")


def md_escape(text: object) -> str:
    """One table-cell-safe line: markup characters escaped, HTML neutralised, newlines flattened."""
    value = " ".join(str(text).split())
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", value)


def md_code(text: object) -> str:
    """A code span (shown literally, so no escaping inside) with a fence longer than any backtick run in it."""
    value = " ".join(str(text).split())
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def _shorten(text: str, limit: int = MAX_REASON) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _rule_row(o: RuleOutcome) -> str:
    cells = [
        o.outcome.upper(), md_escape(o.rule_id), md_escape(o.scope_label),
        sections.fmt(o.value), sections.fmt(o.baseline), sections.fmt_delta(o.delta),
        sections.fmt_ci(o.ci_low, o.ci_high), md_escape(o.allowed), p_text(o), md_escape(_shorten(brief_note(o))),
    ]
    return "| " + " | ".join(cells) + " |"


def _rules_table(outcomes: list[RuleOutcome], limit: int, confidence: float) -> list[str]:
    lines = [
        f"| outcome | rule | scope | value | baseline | delta | {confidence:.0%} CI | allowed | p / adjusted | note |",
        "|---|---|---|---:|---:|---:|---|---|---:|---|",
    ]
    lines += [_rule_row(o) for o in outcomes[:limit]]
    if len(outcomes) > limit:
        lines.append(f"| ... {len(outcomes) - limit} more | | | | | | | | | see the full report |")
    return lines


def _groups_table(groups: list[OutcomeGroup], limit: int, undetectable: bool) -> list[str]:
    """One line per rule x suite; the rows folded in a <details> below (GitHub renders it)."""
    if undetectable:
        lines = ["| rule | suite | scopes | largest MDC | allowed |", "|---|---|---:|---:|---|"]
        lines += [f"| {md_escape(g.rule_id)} | {md_escape(g.suite)} | {g.count} | {sections.fmt(g.largest_mdc)} | "
                  f"{md_escape(g.worst.allowed)} |" for g in groups[:limit]]
    else:
        lines = ["| rule | suite | scopes | worst scope | worst delta | allowed |", "|---|---|---:|---|---:|---|"]
        lines += [f"| {md_escape(g.rule_id)} | {md_escape(g.suite)} | {g.count} | {md_escape(g.worst_label)} | "
                  f"{sections.fmt_delta(g.worst.delta)} | {md_escape(g.worst.allowed)} |" for g in groups[:limit]]
    if len(groups) > limit:
        lines.append(f"| ... {len(groups) - limit} more groups | | | | | |")
    return lines


def _folded_rows(groups: list[OutcomeGroup], limit: int) -> list[str]:
    rows = [o for g in groups for o in g.rows]
    if not rows or limit < 4:
        return []
    return ["", "<details><summary>the rows</summary>", "", *_rules_table(rows, limit, 0.95), "", "</details>"]


def _regression_line(index: int, r: sections.Regression) -> str:
    row = r.row
    support = f", support {row.support}" if row.support is not None else ""
    ci = f", CI {sections.fmt_ci(row.ci_low, row.ci_high)}" if row.ci_low is not None else ""
    sure = "" if r.significant else " (not significant)"
    return (f"{index}. **{md_escape(row.metric)}** on {md_escape(r.scope)}: {sections.fmt(row.baseline)} → "
            f"{sections.fmt(row.candidate)} ({sections.fmt_delta(row.delta)}{ci}{support}){sure}")


def _backend_line(verdict: GateVerdict, status: sections.BackendStatus) -> str:
    if status.status != "ok":
        return f"- **{md_escape(status.name)}**: {md_escape(status.status)} ({md_escape(status.reason or 'no reason recorded')})"
    per_suite = {}
    for row in verdict.comparisons:
        if row.metric == "ap" and row.backend == status.name and row.class_name is None and row.size is None:
            per_suite[row.suite] = row
    consistency = [row for row in verdict.comparisons
                   if row.metric == "backend_disagreement" and row.backend == status.name and row.candidate is not None]
    parts = []
    if per_suite:
        parts.append("AP " + ", ".join(f"{md_escape(s)} {sections.fmt(r.candidate)} ({sections.fmt_delta(r.delta)})"
                                       for s, r in per_suite.items()))
    if consistency:
        worst = max(consistency, key=lambda r: r.candidate or 0.0)
        parts.append(f"max disagreement with torch {100 * (worst.candidate or 0):.2f}% ({md_escape(worst.suite)})")
    latency = verdict.latency.backends.get(status.name)
    if latency and latency.latency_p50_ratio is not None:
        interval = (f", 95% CI x{latency.p50_ratio_ci_low:.2f} to x{latency.p50_ratio_ci_high:.2f}"
                    if latency.p50_ratio_ci_low is not None and latency.p50_ratio_ci_high is not None else "")
        parts.append(f"p50 {latency.candidate_p50_ms:.1f} ms (x{latency.latency_p50_ratio:.2f} vs baseline{interval})")
    elif latency:  # a device pipeline's own report, with no baseline figure to divide by
        parts.append(f"p50 {latency.candidate_p50_ms:.1f} ms (reported by the device pipeline)")
    detail = "; ".join(parts) if parts else "ran"
    return f"- **{md_escape(status.name)}** ({md_escape(status.precision)}): {detail}"


def _report_line(report_location: str | None) -> str:
    run_url = None
    if os.environ.get("GITHUB_RUN_ID") and os.environ.get("GITHUB_REPOSITORY"):
        server = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
        run_url = f"{server}/{os.environ['GITHUB_REPOSITORY']}/actions/runs/{os.environ['GITHUB_RUN_ID']}"
    where = md_code(report_location) if report_location else "not written (run `tsrgate report VERDICT --format html`)"
    if run_url and report_location:
        return f"Full report: {where}, in the artifacts of [this workflow run]({run_url})."
    return f"Full report: {where}."


def _compose(view: ReportView, report_location: str | None, table_limit: int) -> str:
    verdict = view.verdict
    c = verdict.counts
    confidence = verdict.bootstrap.confidence
    lines = [
        REPORT_MARKER,
        f"## tsrgate verdict: {sections.OUTCOME_LABELS[verdict.outcome]}",
        "",
        f"Candidate **{md_escape(verdict.candidate.model.name)} {md_escape(verdict.candidate.model.version)}** "
        f"(weights `{verdict.candidate.model.weights_sha256[:12]}`) vs baseline "
        f"**{md_escape(verdict.baseline.model.name)} {md_escape(verdict.baseline.model.version)}** "
        f"(weights `{verdict.baseline.model.weights_sha256[:12]}`), {len(verdict.suites)} suite(s), "
        f"policy {md_escape(verdict.policy.name)} (`{verdict.policy.sha256[:12]}`).",
        "",
        f"Rules: **{c['fail']} failed**, {c['warn']} warnings, {c.get('cannot_detect', 0)} cannot detect, "
        f"{c['pass']} passed, {c['insufficient_support']} insufficient support, {c['not_run']} not run."
        + (f" Multiplicity: {view.multiplicity.method} over {view.multiplicity.family_size} tests, "
           f"alpha {view.multiplicity.alpha}." if view.multiplicity else ""),
        "",
    ]
    if view.preprocessing_change is not None:
        lines[2:2] = [f"**Preprocessing changed**: {md_escape('; '.join(view.preprocessing_change.changes))}. "
                      "Every metric below is affected by it.", ""]
    failing = view.outcomes["fail"]
    if failing:
        lines += ["### Failing rules", ""]
        lines += _rules_table(failing, table_limit, confidence)
        lines.append("")
    else:
        lines += ["No rule failed.", ""]
    warning_groups = view.warning_groups
    if warning_groups:
        lines += [f"### Warnings ({c['warn']} in {len(warning_groups)} rule x suite groups)", ""]
        lines += _groups_table(warning_groups, table_limit, undetectable=False)
        lines += _folded_rows(warning_groups, table_limit)
        lines.append("")
    blind_groups = view.undetectable_groups
    if blind_groups:
        lines += [f"### Cannot detect ({c.get('cannot_detect', 0)} in {len(blind_groups)} groups)", "",
                  "Passed, but the minimum detectable change is larger than the allowed change.", ""]
        lines += _groups_table(blind_groups, table_limit, undetectable=True)
        lines.append("")
    regressions = view.regressions[:3]
    lines += ["### Top regressions", ""]
    if regressions:
        lines += [_regression_line(i, r) for i, r in enumerate(regressions, start=1)]
    else:
        lines.append("No metric got worse on any judged scope.")
    lines += ["", "### Backends", ""]
    lines += [_backend_line(verdict, status) for status in view.backends]
    for note in verdict.notes[:table_limit]:
        lines.append(f"- note: {md_escape(_shorten(note))}")
    lines += ["", _report_line(report_location), ""]
    return "\n".join(lines)


def render_markdown(source: GateVerdict | ReportView, report_location: str | None = None,
                    max_chars: int = MAX_CHARS) -> str:
    """The PR-comment Markdown of a verdict (or its view), at most `max_chars` characters."""
    view = ReportView.of(source)
    limit = 50
    text = _compose(view, report_location, limit)
    while len(text) > max_chars and limit > 0:
        limit //= 2
        text = _compose(view, report_location, limit)
    return text
