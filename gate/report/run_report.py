"""The report of one results folder (`tsrgate run` output) before any comparison: what the model scored.

Same self-contained HTML as the verdict report (inline CSS and SVG), with the figures of one side:
metrics per suite and backend, per class, per size bucket, TIDE errors, confusions, backend
consistency, parity, latency and provenance. The Markdown form is the per-suite metrics table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gate.report import sections
from gate.report.evidence import SideResults

SUMMARY_COLUMNS = ("ap", "ap50", "ap75", "ar100")


def open_results(folder: str | Path) -> SideResults:
    """A results folder opened like one side of a verdict (its seal verified)."""
    from gate.compare.compare import side_provenance
    from gate.errors import InputError
    from gate.results.opened import ResultsFolder

    side = SideResults(side_provenance(ResultsFolder.open(folder)))
    if side.record is None:
        raise InputError(side.problem or "unreadable results folder", path=folder)
    return side


@dataclass
class EntryRow:
    suite: str
    backend: str
    status: str
    summary: dict
    threshold: object | None  # ThresholdMetrics
    images: int
    cached: bool


def entry_rows(side: SideResults) -> list[EntryRow]:
    rows = []
    for entry in side.record.entries:
        evaluation = side.evaluation(entry.suite, entry.backend) if entry.status == "ok" else None
        status = entry.status + (f" ({entry.reason})" if entry.reason else "")
        rows.append(EntryRow(suite=entry.suite, backend=entry.backend, status=status, summary=entry.summary,
                             threshold=evaluation.threshold if evaluation else None, images=entry.images,
                             cached=entry.predictions_from_cache))
    return rows


def render_run_html(folder: str | Path) -> str:
    from gate import __version__
    from gate.report.plots import PrPanel, pr_curves_svg
    from gate.report.templating import render_template, trusted_markup

    side = open_results(folder)
    record = side.record
    suites = [s.name for s in record.suites]
    evaluations = {s: side.evaluation(s) for s in suites}
    panels = [PrPanel(title=s, recall=e.pr_curves.recall, candidate=e.pr_curves.overall_iou50, baseline=None,
                      candidate_ap=e.summary.get("ap50")) for s, e in evaluations.items() if e is not None]
    classes: list[str] = []
    for evaluation in evaluations.values():
        for c in evaluation.per_class if evaluation else []:
            if c.name not in classes:
                classes.append(c.name)
    per_class = {(c.name, s): c for s, e in evaluations.items() if e for c in e.per_class}
    consistency = [(s, name, figures) for s in suites for name, figures in sorted(side.consistency(s).items())]
    return render_template(
        "run.html.j2", side=side.provenance, record=record, rows=entry_rows(side), suites=suites,
        evaluations=evaluations, classes=classes, per_class=per_class,
        pr_overall=trusted_markup(pr_curves_svg(panels)) if panels else None,
        tide_errors=sections.TIDE_ERRORS, tide_labels=sections.TIDE_LABELS, consistency=consistency,
        parity=side.parity(), latency=side.latency(), tsrgate_version=__version__,
    )


def render_run_markdown(folder: str | Path) -> str:
    from gate.report.markdown import md_escape

    side = open_results(folder)
    model = side.record.model
    lines = [f"## tsrgate results: {md_escape(model.name)} {md_escape(model.version)} "
             f"(weights `{model.weights_sha256[:12]}`)", "",
             "| suite | backend | status | AP | AP50 | AP75 | AR100 | recall@thr | precision@thr |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for row in entry_rows(side):
        t = row.threshold
        lines.append("| " + " | ".join([
            md_escape(row.suite), md_escape(row.backend), md_escape(row.status),
            *[sections.fmt(row.summary.get(m)) for m in SUMMARY_COLUMNS],
            sections.fmt(t.recall if t else None), sections.fmt(t.precision if t else None),
        ]) + " |")
    return "\n".join(lines) + "\n"
