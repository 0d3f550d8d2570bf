"""Typed evaluation results: pydantic objects that save to JSON and load back equal.

Undefined figures follow pycocotools where it has a convention (-1 for the AP/AR of a scope without
counted ground truth) and are `None` elsewhere (precision without detections, recall without
ground truth). The match records (`MatchRecords`) are saved beside a result as `<name>.records.npz`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gate import __version__
from gate.errors import InputError
from gate.inputs import read_structured, validate
from gate.storage import atomic_write_json

RESULTS_FORMAT = 1
COCO_STATS_LABELS = (
    "AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl",
)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClassMetrics(_Frozen):
    """One category. AP/AR are -1 when the class has no counted ground truth (pycocotools)."""

    category_id: int
    name: str
    support: int  # counted ground truths (ignore regions excluded)
    detections: int  # all detections of this class
    ap: float
    ap50: float
    ap75: float
    ar1: float
    ar10: float
    ar100: float
    precision: float | None  # at the operating threshold, IoU 0.5
    recall: float | None
    f1: float | None
    tp: int
    fp: int
    fn: int


class SizeMetrics(_Frozen):
    """One size bucket (all classes). A gt counts by its `area`, a false positive by its box area."""

    name: str
    area_min: float
    area_max: float
    support: int
    ap: float
    ap50: float
    ap75: float
    ar100: float
    precision: float | None
    recall: float | None
    f1: float | None
    tp: int
    fp: int
    fn: int


class ThresholdMetrics(_Frozen):
    """Operating point: detections scoring >= score_threshold, matched at IoU 0.5, counts pooled."""

    score_threshold: float
    iou_threshold: float = 0.5
    precision: float | None
    recall: float | None
    f1: float | None
    tp: int
    fp: int
    fn: int
    fp_per_image: float | None


class ConfusionPair(_Frozen):
    truth: str
    predicted: str
    count: int
    rate: float  # count / ground truths of `truth`


class ConfusionMatrix(_Frozen):
    """Rows: ground-truth class then "background"; columns: predicted class then "background".

    Detections scoring >= the threshold are matched to ground truth class-agnostically (greedy, in
    score order, highest IoU >= 0.5); a matched pair lands in (its gt class, its predicted class),
    an unmatched detection in (background, predicted class) unless it lies in an ignore region,
    and a ground truth no detection took in (gt class, background).
    """

    score_threshold: float
    iou_threshold: float = 0.5
    labels: list[str]  # class names, then "background"
    category_ids: list[int]
    counts: list[list[int]]

    def pairs(self, min_count: int = 1) -> list[ConfusionPair]:
        """Off-diagonal class-to-class confusions, most frequent first."""
        out = []
        k = len(self.category_ids)
        for i in range(k):
            support = sum(self.counts[i])
            for j in range(k):
                if i != j and self.counts[i][j] >= min_count:
                    out.append(ConfusionPair(truth=self.labels[i], predicted=self.labels[j], count=self.counts[i][j],
                                             rate=self.counts[i][j] / support if support else 0.0))
        return sorted(out, key=lambda p: (-p.count, p.truth, p.predicted))

    def count(self, truth: str, predicted: str) -> int:
        return self.counts[self.labels.index(truth)][self.labels.index(predicted)]


class TideBreakdown(_Frozen):
    """TIDE error analysis (Bolya et al., ECCV 2020) at IoU 0.5; see gate.eval.tide for the rules."""

    iou_foreground: float = 0.5
    iou_background: float = 0.1
    ap50: float
    counts: dict[str, int]  # every AP-relevant detection, as TIDE counts
    counts_at_threshold: dict[str, int]  # detections scoring >= the operating threshold
    delta_ap50: dict[str, float]  # AP50 gained by fixing each error type alone
    delta_ap50_false_positives: float  # all false positives removed
    delta_ap50_false_negatives: float  # all missed ground truth removed


class ClassPrCurve(_Frozen):
    category_id: int
    name: str
    precision_iou50: list[float] | None  # None: no counted ground truth
    precision_iou50_95: list[float] | None


class PrCurves(_Frozen):
    """101-point interpolated precision at COCO's recall thresholds, area "all", 100 detections."""

    recall: list[float]
    overall_iou50: list[float] | None
    overall_iou50_95: list[float] | None
    per_class: list[ClassPrCurve]


class EvaluationResult(_Frozen):
    format: int = RESULTS_FORMAT
    kind: Literal["evaluation"] = "evaluation"
    tsrgate_version: str = __version__
    gt_signature: str
    num_images: int
    num_predictions: int
    num_ground_truth: int  # counted (ignore regions excluded)
    num_ignore_regions: int
    score_threshold: float
    size_scheme: str
    max_dets: int
    coco_stats_labels: list[str] = Field(default_factory=lambda: list(COCO_STATS_LABELS))
    coco_stats: list[float]  # pycocotools' COCOeval.stats order, COCO's own area ranges
    summary: dict[str, float | None]
    per_class: list[ClassMetrics]
    per_size: list[SizeMetrics]
    threshold: ThresholdMetrics
    confusion: ConfusionMatrix
    tide: TideBreakdown | None
    pr_curves: PrCurves
    library_versions: dict[str, str] = Field(default_factory=dict)

    def class_metrics(self, name: str) -> ClassMetrics:
        for c in self.per_class:
            if c.name == name:
                return c
        raise KeyError(name)

    def size_metrics(self, name: str) -> SizeMetrics:
        for s in self.per_size:
            if s.name == name:
                return s
        raise KeyError(name)

    def save(self, path: str | Path, records=None) -> None:
        """Write the JSON atomically; with `records`, also `<stem>.records.npz` beside it."""
        path = Path(path)
        atomic_write_json(path, self.model_dump(mode="json"))
        if records is not None:
            records.save(records_path_for(path))

    @classmethod
    def load(cls, path: str | Path) -> EvaluationResult:
        return _load_model(cls, path)


def records_path_for(result_path: str | Path) -> Path:
    """Where the match records of a saved result live: `x.json` -> `x.records.npz`."""
    path = Path(result_path)
    return path.with_name(path.stem + ".records.npz")


def _load_model(cls, path: str | Path):
    path = Path(path)
    raw = read_structured(path, "result file", fmt="json")
    if isinstance(raw, dict) and raw.get("format", RESULTS_FORMAT) != RESULTS_FORMAT:
        raise InputError(f"result format {raw.get('format')} is not supported (expected {RESULTS_FORMAT})", path=path)
    return validate(raw, cls, path, cls.__name__)


class MetricDelta(_Frozen):
    """One metric in one scope: candidate, baseline, paired-bootstrap delta and its CI.

    `p_worse` is a one-sided bootstrap p-value for "the candidate is worse": the share of resamples
    in which the delta is NOT worse (>= 0 for higher-is-better metrics, <= 0 for lower-is-better),
    with the usual +1 correction, (1 + #not worse) / (1 + #resamples). Small means confidently
    worse; a candidate identical to the baseline gets 1.
    """

    metric: str
    class_name: str | None = None  # None: all classes; "A->B" for confusion
    category_id: int | None = None
    size: str | None = None  # None: all sizes
    higher_is_better: bool
    value_candidate: float | None
    value_baseline: float | None
    delta: float | None
    ci_low: float | None
    ci_high: float | None
    p_worse: float | None
    support: int  # counted ground truths behind the figure (gt of class A for confusion)
    se: float | None = None  # standard deviation of the resampled deltas (for tests against an allowed change)
    status: Literal["ok", "insufficient_support", "undefined"]
    valid_resamples: int

    @property
    def scope_label(self) -> str:
        parts = [p for p in (self.class_name, self.size) if p]
        return " / ".join(parts) if parts else "overall"


class BootstrapComparison(_Frozen):
    format: int = RESULTS_FORMAT
    kind: Literal["bootstrap_comparison"] = "bootstrap_comparison"
    tsrgate_version: str = __version__
    gt_signature: str
    num_images: int
    resamples: int
    confidence: float
    seed: int
    min_support: int
    size_scheme: str
    candidate_threshold: float
    baseline_threshold: float
    method: str = "paired image bootstrap, percentile CI"
    deltas: list[MetricDelta]

    def find(self, metric: str, class_name: str | None = None, size: str | None = None) -> MetricDelta | None:
        for d in self.deltas:
            if d.metric == metric and d.class_name == class_name and d.size == size:
                return d
        return None

    def save(self, path: str | Path) -> None:
        atomic_write_json(Path(path), self.model_dump(mode="json"))

    @classmethod
    def load(cls, path: str | Path) -> BootstrapComparison:
        return _load_model(cls, path)


class RobustnessResult(_Frozen):
    """mPC and rPC (Michaelis et al. 2019) for one metric over a set of corruption suites."""

    metric: str
    clean: float
    mpc: float  # mean over corruptions of the mean over severities
    rpc: float | None  # mpc / clean; None when clean is 0
    per_corruption: dict[str, float]  # mean over severities
    per_suite: dict[str, float]  # "corruption@severity" -> metric
