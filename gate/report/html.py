"""The self-contained HTML report of a verdict: one file, inline CSS, inline SVG plots, PNG data URIs."""

from __future__ import annotations

from pathlib import Path

from gate import __version__
from gate.compare.verdict import GateVerdict
from gate.policy import GATE_METRICS
from gate.report import sections
from gate.report.evidence import VerdictEvidence
from gate.report.gallery import KIND_ORDER, build_gallery
from gate.report.history import model_history
from gate.report.sequences import sequence_sections
from gate.report.plots import LatencyBar, PrPanel, heatmap_svg, latency_svg, pr_curves_svg
from gate.report.templating import render_template, trusted_markup

KIND_TITLES = {"missed": "missed", "new_confusion": "new confusions", "new_false_positive": "new false positives"}


def _pr_panels(verdict: GateVerdict, evidence: VerdictEvidence, worst: sections.WorstClass | None):
    """Overall PR panels per suite, the worst class's panel, and a note for what could not be drawn."""
    cand, base = evidence.candidate, evidence.baseline
    if not cand.available or not base.available:
        return [], None, "PR curves need both results folders: " + "; ".join(evidence.problems)
    overall, missing = [], []
    for suite in verdict.suites:
        c, b = cand.evaluation(suite), base.evaluation(suite)
        if c is None or b is None:
            missing.append(suite)
            continue
        overall.append(PrPanel(title=suite, recall=c.pr_curves.recall, candidate=c.pr_curves.overall_iou50,
                               baseline=b.pr_curves.overall_iou50, candidate_ap=c.summary.get("ap50"),
                               baseline_ap=b.summary.get("ap50")))
    worst_panel = None
    if worst is not None:
        c, b = cand.evaluation(worst.suite), base.evaluation(worst.suite)
        if c is not None and b is not None:
            cc = next((p for p in c.pr_curves.per_class if p.name == worst.class_name), None)
            bc = next((p for p in b.pr_curves.per_class if p.name == worst.class_name), None)
            if cc is not None and bc is not None:
                worst_panel = PrPanel(title=f"{worst.class_name} on {worst.suite}", recall=c.pr_curves.recall,
                                      candidate=cc.precision_iou50, baseline=bc.precision_iou50,
                                      candidate_ap=c.class_metrics(worst.class_name).ap50,
                                      baseline_ap=b.class_metrics(worst.class_name).ap50)
    note = f"no torch evaluation on both sides for: {', '.join(missing)}" if missing else ""
    return overall, worst_panel, note


def verdict_context(verdict: GateVerdict, *, cache: str | Path | None = None, suites_dir: str | Path | None = None,
                    data: str | Path | None = None, history_db: str | Path | None = None,
                    gallery_per_kind: int = 3) -> dict:
    """Everything the report template shows, computed once."""
    evidence = VerdictEvidence(verdict)
    classes, suites, cells = sections.heatmap_data(verdict)
    worst = sections.worst_class(verdict)
    overall, worst_panel, pr_note = _pr_panels(verdict, evidence, worst)
    latency = sections.latency_rows(verdict, evidence)
    bars = [LatencyBar(backend=row.backend, candidate_p50=row.candidate_p50, candidate_p99=row.candidate_p99,
                       baseline_p50=row.baseline_p50, baseline_p99=row.baseline_p99)
            for row in latency if row.candidate_p50 is not None]
    trend = model_history(sorted({verdict.candidate.model.name, verdict.baseline.model.name}), history_db)
    outcomes_by_kind = {kind: sections.sorted_outcomes(verdict, (kind,)) for kind in sections.OUTCOME_ORDER}
    return {
        "v": verdict,
        "banner_label": sections.OUTCOME_LABELS[verdict.outcome],
        "evidence_problems": evidence.problems,
        "directions": {name: metric.higher_is_better for name, metric in GATE_METRICS.items()},
        "failing": outcomes_by_kind["fail"],
        "warnings": outcomes_by_kind["warn"],
        "not_judged": outcomes_by_kind["insufficient_support"] + outcomes_by_kind["not_run"],
        "passed": outcomes_by_kind["pass"],
        "regressions": sections.top_regressions(verdict, count=10),
        "min_support": sections.min_support(verdict),
        "heatmap": trusted_markup(heatmap_svg(classes, suites, cells)) if classes else None,
        "pr_overall": trusted_markup(pr_curves_svg(overall)) if overall else None,
        "pr_worst": trusted_markup(pr_curves_svg([worst_panel], columns=1)) if worst_panel else None,
        "worst": worst,
        "pr_note": pr_note,
        "sizes": sections.size_rows(verdict),
        "tide": sections.tide_rows(verdict, evidence),
        "tide_errors": sections.TIDE_ERRORS,
        "tide_labels": sections.TIDE_LABELS,
        "confusions": sections.worse_confusions(verdict, evidence),
        "backends": sections.backend_statuses(verdict),
        "backend_ap": sections.backend_ap_table(verdict, evidence),
        "consistency": sections.consistency_rows(verdict, evidence),
        "parity": evidence.candidate.parity(),
        "latency": latency,
        "latency_plot": trusted_markup(latency_svg(bars)) if bars else None,
        "gallery": build_gallery(evidence, per_kind=gallery_per_kind, cache=cache, suites_dir=suites_dir, data=data),
        "kind_titles": {k: KIND_TITLES[k] for k in KIND_ORDER},
        "trend": trend,
        "trend_svg": trusted_markup(trend.svg) if trend.svg else None,
        "tsrgate_version": __version__,
        "sequences": sequence_sections(verdict),
    }


def render_html(verdict: GateVerdict, **options) -> str:
    """The HTML report of a verdict (see `verdict_context` for the options)."""
    return render_template("report.html.j2", **verdict_context(verdict, **options))
