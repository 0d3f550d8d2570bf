"""The self-contained HTML report of a verdict: one file, inline CSS, inline SVG plots, PNG data URIs."""

from __future__ import annotations


from gate import __version__
from gate.results.backend import REFERENCE_BACKEND
from gate.policy import GATE_METRICS
from gate.report import sections
from gate.report.evidence import VerdictEvidence
from gate.report.gallery import KIND_ORDER
from gate.report.plots import LatencyBar, PrPanel, heatmap_svg, latency_svg, pr_curves_svg
from gate.report.templating import render_template, trusted_markup
from gate.report.view import ReportView
from gate.results.verdict import GateVerdict

KIND_TITLES = {"missed": "missed", "new_confusion": "new confusions", "new_false_positive": "new false positives"}


def _pr_panels(verdict: GateVerdict, evidence: VerdictEvidence, worst: sections.WorstClass | None,
               backend: str = REFERENCE_BACKEND):
    """Overall PR panels per suite, the worst class's panel, and a note for what could not be drawn."""
    cand, base = evidence.candidate, evidence.baseline
    if not cand.available or not base.available:
        return [], None, "PR curves need both results folders: " + "; ".join(evidence.problems)
    overall, missing = [], []
    for suite in verdict.suites:
        c, b = cand.evaluation(suite, backend), base.evaluation(suite, backend)
        if c is None or b is None:
            missing.append(suite)
            continue
        overall.append(PrPanel(title=suite, recall=c.pr_curves.recall, candidate=c.pr_curves.overall_iou50,
                               baseline=b.pr_curves.overall_iou50, candidate_ap=c.summary.get("ap50"),
                               baseline_ap=b.summary.get("ap50")))
    worst_panel = None
    if worst is not None:
        c, b = cand.evaluation(worst.suite, backend), base.evaluation(worst.suite, backend)
        if c is not None and b is not None:
            cc = next((p for p in c.pr_curves.per_class if p.name == worst.class_name), None)
            bc = next((p for p in b.pr_curves.per_class if p.name == worst.class_name), None)
            if cc is not None and bc is not None:
                worst_panel = PrPanel(title=f"{worst.class_name} on {worst.suite}", recall=c.pr_curves.recall,
                                      candidate=cc.precision_iou50, baseline=bc.precision_iou50,
                                      candidate_ap=c.class_metrics(worst.class_name).ap50,
                                      baseline_ap=b.class_metrics(worst.class_name).ap50)
    note = f"no {backend} evaluation on both sides for: {', '.join(missing)}" if missing else ""
    return overall, worst_panel, note


def latency_bars(rows: list[sections.LatencyRow]) -> list[LatencyBar]:
    return [LatencyBar(backend=row.backend, candidate_p50=row.candidate_p50, candidate_p99=row.candidate_p99,
                       baseline_p50=row.baseline_p50, baseline_p99=row.baseline_p99)
            for row in rows if row.candidate_p50 is not None]


def verdict_context(view: ReportView) -> dict:
    """What the report template shows: the view's pieces, with their plots drawn."""
    verdict = view.verdict
    classes, suites, cells = sections.heatmap_data(verdict, backend=view.backend)
    overall, worst_panel, pr_note = _pr_panels(verdict, view.evidence, view.worst, view.backend)
    bars = latency_bars(view.latency)
    trend = view.trend
    return {
        "v": verdict,
        "backend": view.backend,
        "banner_label": sections.OUTCOME_LABELS[verdict.outcome],
        "evidence_problems": view.evidence.problems,
        "directions": {name: metric.higher_is_better for name, metric in GATE_METRICS.items()},
        "failing": view.outcomes["fail"],
        "warnings": view.outcomes["warn"],
        "warning_groups": view.warning_groups,
        "undetectable": view.undetectable,
        "undetectable_groups": view.undetectable_groups,
        "multiplicity": view.multiplicity,
        "preprocessing_change": view.preprocessing_change,
        "not_judged": view.not_judged,
        "passed": view.outcomes["pass"],
        "regressions": view.regressions,
        "min_support": view.min_support,
        "heatmap": trusted_markup(heatmap_svg(classes, suites, cells)) if classes else None,
        "pr_overall": trusted_markup(pr_curves_svg(overall)) if overall else None,
        "pr_worst": trusted_markup(pr_curves_svg([worst_panel], columns=1)) if worst_panel else None,
        "worst": view.worst,
        "pr_note": pr_note,
        "sizes": view.sizes,
        "tide": view.tide,
        "tide_errors": sections.TIDE_ERRORS,
        "tide_labels": sections.TIDE_LABELS,
        "confusions": view.confusions,
        "backends": view.backends,
        "backend_ap": view.backend_ap,
        "consistency": view.consistency,
        "parity": view.parity,
        "latency": view.latency,
        "latency_plot": trusted_markup(latency_svg(bars)) if bars else None,
        "gallery": view.gallery,
        "kind_titles": {k: KIND_TITLES[k] for k in KIND_ORDER},
        "trend": trend,
        "trend_svg": trusted_markup(trend.svg) if trend.svg else None,
        "tsrgate_version": __version__,
        "sequences": view.sequences,
    }


def render_html(source: GateVerdict | ReportView, **options) -> str:
    """The HTML report of a verdict or its view; `options` (cache, suites_dir, data, history_db,
    gallery_per_kind) make the view when given a verdict."""
    return render_template("report.html.j2", **verdict_context(ReportView.of(source, **options)))
