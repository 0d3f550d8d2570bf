"""The content of a verdict report, section by section, as plain rows (no markup).

Every HTML and Markdown section is built from these rows, so the two formats can never disagree.
Values come from the verdict itself (rule outcomes and metric comparisons with their bootstrap
CIs) and, for what only the results folders hold, from `VerdictEvidence`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from gate.policy import GATE_METRICS, MetricComparison, RuleOutcome
from gate.report.evidence import VerdictEvidence
from gate.results.backend import REFERENCE_BACKEND
from gate.results.consistency import ApDelta, BackendConsistency
from gate.results.verdict import GateVerdict

OUTCOME_ORDER = {"fail": 0, "warn": 1, "cannot_detect": 2, "insufficient_support": 3, "not_run": 4, "pass": 5}
OUTCOME_LABELS = {"pass": "PASS", "warn": "PASS with warnings", "fail": "FAIL"}
REGRESSION_METRICS = ("ap", "ap50", "recall_at_threshold", "precision_at_threshold", "confusion")
TIDE_ERRORS = ("cls", "loc", "both", "dupe", "bkg", "missed")
TIDE_LABELS = {"cls": "classification", "loc": "localisation", "both": "cls+loc", "dupe": "duplicate",
               "bkg": "background", "missed": "missed"}


def fmt(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def _visible(value: float, digits: int) -> float:
    """The value as shown at `digits` decimals, so -0.0004 reads +0.000 rather than a red "-0.000"."""
    shown = round(value, digits)
    return 0.0 if shown == 0 else shown


def fmt_delta(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{_visible(value, digits):+.{digits}f}"


def direction_class(value: float | None, higher_is_better: bool = True, digits: int = 3) -> str:
    """CSS class of a delta: "worse", "better", or "" when it shows as zero."""
    if value is None or _visible(value, digits) == 0:
        return ""
    return "worse" if (value < 0) == higher_is_better else "better"


def fmt_ci(low: float | None, high: float | None, digits: int = 3) -> str:
    if low is None or high is None:
        return "n/a"
    return f"[{_visible(low, digits):+.{digits}f}, {_visible(high, digits):+.{digits}f}]"


def min_support(verdict: GateVerdict) -> int:
    return verdict.bootstrap.min_support


def is_judged(row: MetricComparison, support_floor: int) -> bool:
    """A row the gate can read: it ran, and a class/size row has enough ground truth behind it."""
    if row.status != "ok" or row.candidate is None:
        return False
    scoped = row.class_name is not None or row.size is not None
    return not (scoped and row.support is not None and row.support < support_floor)


def sorted_outcomes(verdict: GateVerdict, kinds: tuple[str, ...] = ("fail", "warn")) -> list[RuleOutcome]:
    """Outcomes of the given kinds, failures first, in policy order within each kind."""
    chosen = [o for o in verdict.outcomes if o.outcome in kinds]
    return sorted(chosen, key=lambda o: OUTCOME_ORDER[o.outcome])


@dataclass
class Regression:
    """One of the largest measured worsenings (any metric in REGRESSION_METRICS, one per scope)."""

    row: MetricComparison
    worsening: float  # in the metric's worse direction, > 0
    significant: bool  # the whole CI lies on the worse side of zero

    @property
    def scope(self) -> str:
        parts = [p for p in (self.row.suite, self.row.backend, self.row.class_name, self.row.size) if p]
        return " / ".join(parts)


def top_regressions(verdict: GateVerdict, count: int = 3) -> list[Regression]:
    """The largest worsenings, significant ones first, at most one per scope."""
    floor = min_support(verdict)
    found: list[Regression] = []
    for row in verdict.comparisons:
        if row.metric not in REGRESSION_METRICS or row.delta is None or not is_judged(row, floor):
            continue
        higher = GATE_METRICS[row.metric].higher_is_better
        worsening = -row.delta if higher else row.delta
        if _visible(worsening, 3) <= 0:
            continue  # nothing a reader could see at three decimals
        ci_worse = row.ci_high if higher else row.ci_low
        significant = ci_worse is not None and (ci_worse < 0 if higher else ci_worse > 0)
        found.append(Regression(row=row, worsening=worsening, significant=significant))
    found.sort(key=lambda r: (not r.significant, -r.worsening))
    chosen, seen = [], set()
    for regression in found:
        key = (regression.row.suite, regression.row.backend, regression.row.class_name, regression.row.size)
        if key in seen:
            continue
        seen.add(key)
        chosen.append(regression)
        if len(chosen) == count:
            break
    return chosen


def heatmap_data(verdict: GateVerdict, metric: str = "ap", backend: str = REFERENCE_BACKEND):
    """(classes, suites, cells) of per-class deltas for the heatmap."""
    from gate.report.plots import HeatCell

    floor = min_support(verdict)
    classes: list[str] = []
    cells: dict[tuple[str, str], HeatCell] = {}
    for row in verdict.comparisons:
        if (row.metric != metric or row.backend != backend or row.class_name is None or row.size is not None
                or "->" in row.class_name or row.suite is None):
            continue
        if row.class_name not in classes:
            classes.append(row.class_name)
        cells[(row.class_name, row.suite)] = HeatCell(
            delta=row.delta, ci_low=row.ci_low, ci_high=row.ci_high, support=row.support,
            judged=is_judged(row, floor),
        )
    return classes, list(verdict.suites), cells


@dataclass
class SizeRow:
    suite: str
    size: str
    ap: MetricComparison
    recall: MetricComparison | None
    judged: bool


def size_rows(verdict: GateVerdict, backend: str = REFERENCE_BACKEND) -> list[SizeRow]:
    floor = min_support(verdict)
    recall = {(r.suite, r.size): r for r in verdict.comparisons
              if r.metric == "recall_at_threshold" and r.backend == backend and r.size and r.class_name is None}
    return [SizeRow(suite=r.suite or "", size=r.size, ap=r, recall=recall.get((r.suite, r.size)), judged=is_judged(r, floor))
            for r in verdict.comparisons
            if r.metric == "ap" and r.backend == backend and r.size is not None and r.class_name is None]


@dataclass
class TideRow:
    suite: str
    available: bool
    candidate: dict[str, float] = field(default_factory=dict)  # dAP50 per error type
    baseline: dict[str, float] = field(default_factory=dict)
    candidate_counts: dict[str, int] = field(default_factory=dict)  # at the operating threshold
    baseline_counts: dict[str, int] = field(default_factory=dict)
    note: str = ""


def tide_rows(verdict: GateVerdict, evidence: VerdictEvidence, backend: str = REFERENCE_BACKEND) -> list[TideRow]:
    rows = []
    for suite in verdict.suites:
        cand = evidence.candidate.evaluation(suite, backend) if evidence.candidate.available else None
        base = evidence.baseline.evaluation(suite, backend) if evidence.baseline.available else None
        if cand is None or base is None or cand.tide is None or base.tide is None:
            rows.append(TideRow(suite=suite, available=False,
                                note="; ".join(evidence.problems) or f"no TIDE breakdown for {backend} on both sides"))
            continue
        rows.append(TideRow(suite=suite, available=True, candidate=dict(cand.tide.delta_ap50),
                            baseline=dict(base.tide.delta_ap50), candidate_counts=dict(cand.tide.counts_at_threshold),
                            baseline_counts=dict(base.tide.counts_at_threshold)))
    return rows


@dataclass
class ConfusionRow:
    row: MetricComparison
    truth: str
    predicted: str
    candidate_count: int | None
    baseline_count: int | None
    judged: bool


def worse_confusions(verdict: GateVerdict, evidence: VerdictEvidence, backend: str = REFERENCE_BACKEND) -> list[ConfusionRow]:
    """Class-to-class confusions whose rate rose, largest rise first, with the raw counts where available."""
    floor = min_support(verdict)
    out = []
    for row in verdict.comparisons:
        if row.metric != "confusion" or row.delta is None or row.delta <= 0 or not row.class_name:
            continue
        truth, _, predicted = row.class_name.partition("->")
        counts = []
        for side in (evidence.candidate, evidence.baseline):
            evaluation = side.evaluation(row.suite, row.backend or backend) if side.available and row.suite else None
            try:
                counts.append(evaluation.confusion.count(truth, predicted) if evaluation else None)
            except ValueError:
                counts.append(None)
        out.append(ConfusionRow(row=row, truth=truth, predicted=predicted, candidate_count=counts[0],
                                baseline_count=counts[1], judged=row.support is None or row.support >= floor))
    return sorted(out, key=lambda c: -(c.row.delta or 0.0))


@dataclass
class BackendStatus:
    name: str
    status: str
    reason: str
    precision: str = ""
    device: str = ""
    threads: int | None = None

    @property
    def line(self) -> str:
        if self.status == "ok":
            return f"{self.name}: ok ({self.precision or '?'} on {self.device or '?'})"
        return f"{self.name}: {self.status} ({self.reason or 'no reason recorded'})"


def report_backend(verdict: GateVerdict) -> str:
    """The deployment form the per-class sections (heatmap, PR curves, sizes, TIDE, confusions, gallery,
    trend) show: torch when both sides ran it, else the first form both sides ran (an ONNX-only model
    such as a YOLO export is shown on onnx, not as empty torch sections)."""
    ran = [{b.name for b in side.backends if b.status == "ok"} for side in (verdict.candidate, verdict.baseline)]
    both = ran[0] & ran[1]
    if REFERENCE_BACKEND in both or not both:
        return REFERENCE_BACKEND
    order = [b.name for b in verdict.candidate.backends]
    return next(name for name in order if name in both)


def backend_statuses(verdict: GateVerdict) -> list[BackendStatus]:
    out = []
    for b in verdict.candidate.backends:
        description = b.description
        out.append(BackendStatus(name=b.name, status=b.status, reason=b.reason,
                                 precision=description.precision if description else "",
                                 device=description.device if description else "",
                                 threads=description.threads if description else None))
    return out


@dataclass
class BackendApCell:
    candidate: float | None
    baseline: float | None
    status: str  # ok, or why not


def backend_ap_table(verdict: GateVerdict, evidence: VerdictEvidence, metric: str = "ap") -> dict[str, dict[str, BackendApCell]]:
    """suite -> backend -> AP of both sides (from the run records' summaries)."""
    table: dict[str, dict[str, BackendApCell]] = {}
    cand, base = evidence.candidate.record, evidence.baseline.record
    for suite in verdict.suites:
        table[suite] = {}
        for b in verdict.candidate.backends:
            name = b.name
            c_entry = cand.entry(suite, name) if cand else None
            b_entry = base.entry(suite, name) if base else None
            status = "ok"
            if c_entry is None or c_entry.status != "ok":
                status = (c_entry.status + (f" ({c_entry.reason})" if c_entry.reason else "")) if c_entry else "not run"
            table[suite][name] = BackendApCell(
                candidate=c_entry.summary.get(metric) if c_entry and c_entry.status == "ok" else None,
                baseline=b_entry.summary.get(metric) if b_entry and b_entry.status == "ok" else None,
                status=status,
            )
    return table


@dataclass
class ConsistencyRow:
    suite: str
    backend: str
    figures: BackendConsistency | None
    ap_delta: ApDelta | None
    note: str = ""


def consistency_rows(verdict: GateVerdict, evidence: VerdictEvidence) -> list[ConsistencyRow]:
    rows = []
    for suite in verdict.suites:
        per_backend = evidence.candidate.consistency(suite)
        for b in verdict.candidate.backends:
            name = b.name
            if name == REFERENCE_BACKEND:
                continue
            entry = per_backend.get(name)
            if entry is None:
                note = f"{b.status} ({b.reason})" if not b.ok else \
                    (evidence.candidate.problem or "no consistency figures")
                rows.append(ConsistencyRow(suite=suite, backend=name, figures=None, ap_delta=None, note=note))
            else:
                rows.append(ConsistencyRow(suite=suite, backend=name, figures=entry.consistency,
                                           ap_delta=entry.ap_delta))
    return rows


@dataclass
class LatencyRow:
    backend: str
    status: str
    candidate_p50: float | None = None
    candidate_p99: float | None = None
    baseline_p50: float | None = None
    baseline_p99: float | None = None
    ratio_p50: float | None = None
    ratio_p99: float | None = None
    stages_p50: dict[str, float] = field(default_factory=dict)  # candidate's preprocess/inference/postprocess
    ratio_p50_ci: tuple[float, float] | None = None  # the interval the latency rule judges
    timing: str = ""  # pairs timed, why sampling stopped, when, reused or not


def latency_rows(verdict: GateVerdict, evidence: VerdictEvidence) -> list[LatencyRow]:
    stored = evidence.candidate.latency()
    rows = []
    for b in verdict.candidate.backends:
        name = b.name
        if not b.ok:
            rows.append(LatencyRow(backend=name, status=f"{b.status} ({b.reason})"))
            continue
        own = stored.get(name)
        stages = {stage: getattr(own, stage).p50_ms for stage in ("preprocess", "inference", "postprocess")} if own else {}
        figures = verdict.latency.backends.get(name)
        if figures is None:
            rows.append(LatencyRow(backend=name, status="not measured on both sides", stages_p50=stages))
            continue
        interval = None
        if figures.p50_ratio_ci_low is not None and figures.p50_ratio_ci_high is not None:
            interval = (figures.p50_ratio_ci_low, figures.p50_ratio_ci_high)
        timing = ""
        if figures.pairs is not None:
            timing = (f"{figures.pairs} pairs ({figures.stopped}); "
                      + (f"reused timing of {figures.timed_at}" if figures.reused else f"timed {figures.timed_at}"))
        rows.append(LatencyRow(
            backend=name, status="ok", candidate_p50=figures.candidate_p50_ms, candidate_p99=figures.candidate_p99_ms,
            baseline_p50=figures.baseline_p50_ms, baseline_p99=figures.baseline_p99_ms,
            ratio_p50=figures.latency_p50_ratio, ratio_p99=figures.latency_p99_ratio, stages_p50=stages,
            ratio_p50_ci=interval, timing=timing,
        ))
    return rows


@dataclass
class WorstClass:
    suite: str
    class_name: str
    delta: float
    metric: str


def worst_class(verdict: GateVerdict, backend: str = REFERENCE_BACKEND) -> WorstClass | None:
    """The judged class x suite with the most negative AP50 delta (for the per-class PR curve)."""
    floor = min_support(verdict)
    rows = [r for r in verdict.comparisons
            if r.metric == "ap50" and r.backend == backend and r.class_name and "->" not in r.class_name
            and r.size is None and r.delta is not None and is_judged(r, floor)]
    if not rows:
        return None
    row = min(rows, key=lambda r: r.delta)
    return WorstClass(suite=row.suite or "", class_name=row.class_name, delta=row.delta, metric="ap50")
