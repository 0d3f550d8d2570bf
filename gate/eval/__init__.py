"""tsrgate's evaluation engine: COCO-exact metrics, error analysis and paired bootstrap CIs.

Typical use (ground truth is a `gate.data.coco.CocoDataset`; predictions are `PredictionArrays`,
a parsed COCO results list, or the path of a COCO results JSON file):

    from gate.eval import evaluate_with_records, paired_bootstrap, MatchRecords

    result, records = evaluate_with_records(gt, predictions, score_threshold=0.5)
    result.save("eval.json", records=records)        # eval.json + eval.records.npz
    result.coco_stats                                 # the 12 pycocotools figures
    result.class_metrics("stop").ap50

    baseline = MatchRecords.load("baseline/eval.records.npz")
    comparison = paired_bootstrap(records, baseline, candidate_threshold=0.5, seed=0)
    comparison.find("ap50", class_name="stop")       # MetricDelta: delta, ci_low, ci_high, p_worse

Pieces, each usable alone: `match` (predictions -> `MatchRecords`, the one matching pass),
`evaluate_records` (records -> `EvaluationResult`), `paired_bootstrap` (two record sets ->
`BootstrapComparison`), `robustness` and `paired_bootstrap_robustness` (mPC / rPC, with CIs),
`regression_examples` (missed signs, new confusions, new false positives, with boxes, for
galleries), `EVAL_METRICS` / `higher_is_better` (metric directions). AP/AR equal pycocotools' `COCOeval`
(bbox) to floating-point rounding; a class without ground truth has AP -1 as there and is left out
of means.
"""

from gate.eval.bootstrap import paired_bootstrap, resample_weights
from gate.eval.confusion import confusion_matrix
from gate.eval.evaluation import (
    DEFAULT_SCORE_THRESHOLD,
    evaluate,
    evaluate_records,
    evaluate_with_records,
    match,
)
from gate.eval.groundtruth import GroundTruthArrays, ground_truth_arrays
from gate.eval.predictions import PredictionArrays, load_predictions, predictions_from_results
from gate.eval.records import MatchRecords
from gate.eval.registry import EVAL_METRICS, higher_is_better
from gate.eval.results import (
    COCO_STATS_LABELS,
    BootstrapComparison,
    ClassMetrics,
    ConfusionMatrix,
    EvaluationResult,
    MetricDelta,
    PrCurves,
    RobustnessResult,
    SizeMetrics,
    ThresholdMetrics,
    TideBreakdown,
    records_path_for,
)
from gate.eval.regressions import RegressionExample, regression_examples
from gate.eval.robustness import paired_bootstrap_robustness, robustness
from gate.eval.sizes import SIZE_SCHEMES, SizeBucket
from gate.eval.tide import tide_breakdown

__all__ = [
    "COCO_STATS_LABELS",
    "DEFAULT_SCORE_THRESHOLD",
    "EVAL_METRICS",
    "SIZE_SCHEMES",
    "BootstrapComparison",
    "ClassMetrics",
    "ConfusionMatrix",
    "EvaluationResult",
    "GroundTruthArrays",
    "MatchRecords",
    "MetricDelta",
    "PrCurves",
    "PredictionArrays",
    "RegressionExample",
    "RobustnessResult",
    "SizeBucket",
    "SizeMetrics",
    "ThresholdMetrics",
    "TideBreakdown",
    "confusion_matrix",
    "evaluate",
    "evaluate_records",
    "evaluate_with_records",
    "ground_truth_arrays",
    "higher_is_better",
    "load_predictions",
    "match",
    "paired_bootstrap",
    "paired_bootstrap_robustness",
    "predictions_from_results",
    "records_path_for",
    "regression_examples",
    "resample_weights",
    "robustness",
    "tide_breakdown",
]
