"""The release sign-off document: one HTML page a release manager reads and signs.

`gate.signoff.prepare_signoff` runs (or reuses) and compares; this module renders what it produced:
the verdict, the line's baseline history, the trend and the sign-off block with the verdict's hash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gate.errors import GateError
from gate.report import sections
from gate.report.history import TrendSection
from gate.results.backend import REFERENCE_BACKEND
from gate.results.verdict import GateVerdict
from gate.storage import sha256_file

@dataclass
class SignoffPlan:
    suites: list[str]
    skipped_suites: list[str]  # shipped, but the baseline has no results on them
    backends: list[str]


@dataclass
class BaselineVersionRow:
    version: str
    current: bool
    promoted_at: str
    signed_by: str
    git_commit: str | None
    verdict: str
    model: str
    weights_sha256: str
    results_index_sha256: str
    ap: dict[str, float | None] = field(default_factory=dict)  # suite -> torch AP
    note: str = ""


def baseline_history_rows(store, line: str) -> list[BaselineVersionRow]:
    from gate.results.opened import load_run

    rows = []
    for version in store.history(line):
        s = version.signoff
        row = BaselineVersionRow(
            version=version.version, current=version.current, promoted_at=s.promoted_at, signed_by=s.signed_by,
            git_commit=s.git_commit, verdict=s.verdict.outcome if s.verdict else "none recorded", model="?",
            weights_sha256="", results_index_sha256=s.results_index_sha256,
        )
        try:
            record = load_run(version.results_path, verify=False)
            row.model = f"{record.model.name} {record.model.version}"
            row.weights_sha256 = record.model.weights_sha256
            row.ap = {e.suite: e.summary.get("ap") for e in record.entries if e.backend == REFERENCE_BACKEND and e.status == "ok"}
        except GateError as exc:
            row.note = str(exc)
        rows.append(row)
    return rows


@dataclass
class SuiteSummary:
    name: str
    version: str
    manifest_sha256: str
    ap: object  # MetricComparison | None (torch, whole suite)
    ap50: object
    failed: int
    warned: int


def suite_summaries(verdict: GateVerdict) -> list[SuiteSummary]:
    rows = []
    for suite in verdict.candidate.suites:
        if suite.name not in verdict.suites:
            continue
        whole = {r.metric: r for r in verdict.comparisons
                 if r.suite == suite.name and r.backend == REFERENCE_BACKEND and r.class_name is None and r.size is None}
        outcomes = [o for o in verdict.outcomes if o.suite == suite.name]
        rows.append(SuiteSummary(name=suite.name, version=suite.version, manifest_sha256=suite.manifest_sha256,
                                 ap=whole.get("ap"), ap50=whole.get("ap50"),
                                 failed=sum(o.outcome == "fail" for o in outcomes),
                                 warned=sum(o.outcome == "warn" for o in outcomes)))
    return rows


def render_signoff(verdict: GateVerdict, *, line: str, baseline_version: str, history: list[BaselineVersionRow],
                   verdict_path: Path, trend: TrendSection, plan: SignoffPlan, prepared_by: str | None = None) -> str:
    """The sign-off HTML (self-contained, like the verdict report)."""
    from gate import __version__
    from gate.policy import GATE_METRICS
    from gate.report.html import latency_bars
    from gate.report.plots import latency_svg, series_svg
    from gate.report.templating import render_template, trusted_markup
    from gate.report.view import ReportView

    view = ReportView(verdict)
    suites = [s.name for s in suite_summaries(verdict)]
    labels = [f"{h.version} {h.model}" for h in history] + [f"candidate {verdict.candidate.model.name} "
                                                            f"{verdict.candidate.model.version}"]
    candidate_ap = {r.suite: r.candidate for r in verdict.comparisons
                    if r.metric == "ap" and r.backend == REFERENCE_BACKEND and r.class_name is None and r.size is None}
    series = {suite: [h.ap.get(suite) for h in history] + [candidate_ap.get(suite)] for suite in suites}
    baselines_svg = series_svg(labels, series, "AP (torch)", f"line {line}: promoted baselines and this candidate",
                               highlight_last=True)
    bars = latency_bars(view.latency)
    return render_template(
        "signoff.html.j2",
        v=verdict, line=line, baseline_version=baseline_version, plan=plan,
        banner_label=sections.OUTCOME_LABELS[verdict.outcome],
        directions={name: metric.higher_is_better for name, metric in GATE_METRICS.items()},
        failing=view.outcomes["fail"],
        warnings=view.outcomes["warn"],
        not_judged=view.not_judged,
        suite_rows=suite_summaries(verdict),
        backends=view.backends,
        backend_ap=view.backend_ap,
        consistency=view.consistency,
        latency=view.latency,
        latency_plot=trusted_markup(latency_svg(bars)) if bars else None,
        history=history, history_suites=suites,
        baselines_plot=trusted_markup(baselines_svg),
        trend=trend, trend_svg=trusted_markup(trend.svg) if trend.svg else None,
        verdict_file=str(verdict_path), verdict_sha256=sha256_file(verdict_path),
        evidence_problems=view.evidence.problems,
        prepared_by=prepared_by or "",
        tsrgate_version=__version__,
    )
