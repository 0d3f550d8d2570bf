"""The confusion matrix with background, from the class-agnostic matching stored in the records.

Which sign is read as which: a 30 km/h sign detected as 80 km/h is a safety error, not just a miss.
The counting rules are documented on `ConfusionMatrix`; the matching itself (greedy over each
image's detections in score order, highest IoU >= 0.5 regardless of class, ignore regions
absorbing unmatched detections) is done once in `gate.eval.matching`.
"""

from __future__ import annotations

import numpy as np

from gate.eval.records import MatchRecords
from gate.eval.results import ConfusionMatrix

BACKGROUND = "background"


def confusion_from_counts(records: MatchRecords, counts: np.ndarray, score_threshold: float) -> ConfusionMatrix:
    """Wrap a (K + 1) x (K + 1) count array (as `MetricEngine` computes it) with labels."""
    return ConfusionMatrix(
        score_threshold=float(score_threshold),
        labels=[*records.category_names, BACKGROUND],
        category_ids=[int(c) for c in records.category_ids],
        counts=np.rint(counts).astype(np.int64).tolist(),
    )


def confusion_matrix(records: MatchRecords, score_threshold: float) -> ConfusionMatrix:
    """The confusion matrix of detections scoring >= `score_threshold`."""
    from gate.eval.metrics import MetricEngine  # local: metrics imports this module's neighbours

    engine = MetricEngine(records, score_threshold, buckets=())
    return confusion_from_counts(records, engine.compute().confusion, score_threshold)
