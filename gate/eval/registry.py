"""The metrics tsrgate's evaluation produces, each stating which direction is better.

The gate reads `higher_is_better` from here (never guesses); names match `gate.policy.metrics`.
"""

from __future__ import annotations

from dataclasses import dataclass

from gate.errors import InputError


@dataclass(frozen=True)
class EvalMetric:
    name: str
    higher_is_better: bool
    per_class: bool  # reported per class
    per_size: bool  # reported per size bucket
    description: str


_METRICS = (
    EvalMetric("ap", True, True, True, "COCO AP@[.50:.95], 101-point interpolation, 100 detections per image"),
    EvalMetric("ap50", True, True, True, "COCO AP at IoU 0.50"),
    EvalMetric("ap75", True, True, True, "COCO AP at IoU 0.75"),
    EvalMetric("ar1", True, True, True, "COCO AR with 1 detection per image and class"),
    EvalMetric("ar10", True, True, True, "COCO AR with 10 detections per image and class"),
    EvalMetric("ar100", True, True, True, "COCO AR with 100 detections per image and class"),
    EvalMetric("precision_at_threshold", True, True, True, "precision of detections scoring >= the operating threshold, IoU 0.5"),
    EvalMetric("recall_at_threshold", True, True, True, "recall at the operating threshold, IoU 0.5"),
    EvalMetric("f1_at_threshold", True, True, True, "F1 at the operating threshold, IoU 0.5"),
    EvalMetric("fp_per_image", False, False, False, "false positives per image at the operating threshold, IoU 0.5"),
    EvalMetric("confusion", False, True, False, "share of ground truths of class A detected as class B (scope 'A->B')"),
    EvalMetric("mpc", True, False, False, "mean performance under corruption (Michaelis et al. 2019)"),
    EvalMetric("rpc", True, False, False, "relative performance under corruption: mPC / clean performance"),
)

EVAL_METRICS: dict[str, EvalMetric] = {m.name: m for m in _METRICS}


def higher_is_better(name: str) -> bool:
    """Direction of a metric; an unknown name is an InputError, not a guess."""
    try:
        return EVAL_METRICS[name].higher_is_better
    except KeyError:
        raise InputError(f"unknown metric {name!r}; known: {', '.join(EVAL_METRICS)}") from None
