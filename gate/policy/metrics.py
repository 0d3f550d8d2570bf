"""The metrics a policy may name, each knowing which direction is better, so the gate never guesses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class GateMetric:
    name: str
    higher_is_better: bool
    # What the metric is computed over: a candidate-vs-baseline metric on one suite and backend,
    # a backend-vs-torch consistency figure, or a candidate/baseline latency ratio.
    kind: Literal["accuracy", "consistency", "latency", "robustness", "sequence"]
    per_class: bool  # may be scoped to classes
    per_size: bool  # may be scoped to size buckets
    description: str


_METRICS = [
    GateMetric("ap", True, "accuracy", True, True, "COCO AP@[.5:.95]"),
    GateMetric("ap50", True, "accuracy", True, True, "COCO AP at IoU 0.5"),
    GateMetric("ap75", True, "accuracy", True, True, "COCO AP at IoU 0.75"),
    GateMetric("ar100", True, "accuracy", True, True, "COCO AR with 100 detections per image"),
    GateMetric("recall_at_threshold", True, "accuracy", True, True, "recall at the card's operating score threshold, IoU 0.5"),
    GateMetric("precision_at_threshold", True, "accuracy", True, True, "precision at the operating threshold, IoU 0.5"),
    GateMetric("f1_at_threshold", True, "accuracy", True, True, "F1 at the operating threshold, IoU 0.5"),
    GateMetric("fp_per_image", False, "accuracy", False, False, "false positives per image at the operating threshold"),
    GateMetric("confusion", False, "accuracy", False, False, "rate of ground truths of one class group detected as another (per gt)"),
    GateMetric("backend_disagreement", False, "consistency", False, False, "share of detections present in one backend and not in torch"),
    GateMetric("backend_ap_delta", False, "consistency", False, False, "AP lost by a deployment form relative to torch"),
    GateMetric("latency_p50_ratio", False, "latency", False, False, "candidate p50 latency / baseline p50 latency"),
    GateMetric("latency_p99_ratio", False, "latency", False, False, "candidate p99 latency / baseline p99 latency"),
    GateMetric("mpc", True, "robustness", False, False, "mean performance under corruption (AP over corruption suites)"),
    GateMetric("rpc", True, "robustness", False, False, "relative performance under corruption (mPC / clean AP)"),
    # Drive suites (`kind: sequence`): computed from per-frame detections, bootstrapped over whole drives.
    GateMetric("sign_recognised_before_passing", True, "sequence", True, False, "share of sign tracks confirmed as their class before they leave the view"),
    GateMetric("first_confirmation_distance_median", True, "sequence", True, False, "median distance (m) of the first correct confirmation (never = 0)"),
    GateMetric("first_confirmation_distance_p10", True, "sequence", True, False, "10th percentile distance (m) of the first correct confirmation (never = 0)"),
    GateMetric("speed_limit_accuracy", True, "sequence", False, False, "share of frames whose confirmed speed-limit reading equals the limit in force"),
    GateMetric("speed_limit_accuracy_distance", True, "sequence", False, False, "share of distance driven with the right speed-limit reading"),
    GateMetric("speed_limit_change_accuracy", True, "sequence", True, False, "share of speed-limit changes confirmed before the sign is passed"),
    GateMetric("flicker_rate", False, "sequence", False, False, "class changes and drop-outs per confirmed track per second"),
    GateMetric("false_sign_events_per_km", False, "sequence", False, False, "confirmed tracks with no ground-truth sign per km"),
]

GATE_METRICS: dict[str, GateMetric] = {m.name: m for m in _METRICS}
