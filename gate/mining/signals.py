"""The model signals of one image: uncertainty, backend disagreement, rare classes, tiny signs, real errors.

Each function returns a `SignalReading`: a strength in [0, 1], the figures behind it and, when it
is worth saying, a reason in words. Only detections scoring at least `operating_threshold -
near_band` are looked at ("considered"): below that is the low-score tail that AP needs, not
candidate signs. Rules (strength of the image = the strongest detection's):
- near_threshold: 1 - |score - operating threshold| / near_band;
- class_margin: second-best class score / best class score of the detection's query (1 = a tie,
  the "speed_limit_30 at 0.41 vs speed_limit_80 at 0.38" case);
- class_entropy: entropy of the query's top-K class scores (normalised to sum 1) / log K, ramped
  from 0 at 0.3 (one clear class) to 1 at 0.8;
- rare_class: the class's rarity in the training data (see `gate.mining.rarity`), over considered
  detections and, with labels, labelled boxes;
- tiny_objects: tiny considered detections / tiny_saturation (capped at 1);
- backend_disagreement: per other backend, detections at the operating threshold present in one
  and missing in the other, or matched in place (IoU >= disagreement_iou) but with another class
  (counted once); strength = disagreements / disagreement_saturation, capped at 1;
- missed / confused (labelled images): share of counted labelled signs not found at the operating
  threshold (IoU 0.5, same class), and 1 if any detection at the operating threshold has the
  class of no box it overlaps while overlapping a box of another class (TIDE's classification
  error, from gate.eval's matching).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from gate.backends.consistency import match_detection_sets, pairwise_iou
from gate.backends.detections import Detections
from gate.mining.results import MinedDetection, RarityTable
from gate.mining.settings import MiningSettings


@dataclass
class SignalReading:
    strength: float
    measurements: dict[str, float | int | str] = field(default_factory=dict)
    reason: str | None = None


def describe_detections(detections: Detections, class_scores: np.ndarray, class_names: Sequence[str],
                        floor: float, top_classes: int) -> list[MinedDetection]:
    """The considered detections (score >= floor) with their runner-up class and entropy."""
    out = []
    for k in np.flatnonzero(detections.scores >= floor).tolist():
        vector = class_scores[k].astype(np.float64)
        label = int(detections.labels[k])
        others = vector.copy()
        others[label] = -np.inf
        second = int(np.argmax(others)) if vector.size > 1 else None
        top = np.sort(vector)[::-1][:top_classes]
        total = float(top.sum())
        entropy = None
        if total > 0 and top.size > 1:
            p = top / total
            p = p[p > 0]
            entropy = float(-(p * np.log(p)).sum() / math.log(top.size))
        out.append(MinedDetection(
            box=[round(float(v), 2) for v in detections.boxes[k]],
            score=round(float(detections.scores[k]), 6), label=label, class_name=class_names[label],
            runner_up=class_names[second] if second is not None else None,
            runner_up_score=round(float(vector[second]), 6) if second is not None else None,
            entropy=round(entropy, 6) if entropy is not None else None,
        ))
    return out


def near_threshold(detections: list[MinedDetection], threshold: float, band: float) -> SignalReading:
    near = [d for d in detections if abs(d.score - threshold) < band]
    if not near:
        return SignalReading(0.0, {"near_threshold_detections": 0})
    closest = min(near, key=lambda d: abs(d.score - threshold))
    strength = 1.0 - abs(closest.score - threshold) / band
    return SignalReading(strength, {"near_threshold_detections": len(near)},
                         f"score near the threshold: {closest.class_name} {closest.score:.2f} "
                         f"(threshold {threshold:g}, {len(near)} such)")


def class_margin(detections: list[MinedDetection]) -> SignalReading:
    """Closest pair of classes of one query; the detection's class may be the lower of the two (a query
    can give one detection per class), so the pair is reported best class first."""
    best, best_ratio = None, 0.0
    for d in detections:
        if d.runner_up is None or d.runner_up_score is None:
            continue
        high, low = max(d.score, d.runner_up_score), min(d.score, d.runner_up_score)
        ratio = low / high if high > 0 else 0.0
        if ratio > best_ratio:
            best, best_ratio = d, ratio
    if best is None:
        return SignalReading(0.0)
    pair = sorted([(best.score, best.class_name), (best.runner_up_score, best.runner_up)], reverse=True)
    return SignalReading(best_ratio, {"class_margin_ratio": round(best_ratio, 6)},
                         f"classes close: {pair[0][1]} {pair[0][0]:.2f} vs {pair[1][1]} {pair[1][0]:.2f}")


ENTROPY_RAMP = (0.8, 0.3)  # normalised entropy giving strength 1, and 0


def class_entropy(detections: list[MinedDetection]) -> SignalReading:
    """Strongest class entropy, ramped: a query with one clear class (about 0.25 for 0.85 against a few
    0.01-0.03) counts nothing, two classes neck and neck (about 0.55) half, a flat spread fully."""
    scored = [d for d in detections if d.entropy is not None]
    if not scored:
        return SignalReading(0.0)
    worst = max(scored, key=lambda d: d.entropy)
    full, zero = ENTROPY_RAMP
    strength = min(1.0, max(0.0, (worst.entropy - zero) / (full - zero)))
    return SignalReading(strength, {"max_class_entropy": worst.entropy},
                         f"uncertain class: {worst.class_name} (entropy {worst.entropy:.2f})")


def rare_class(detections: list[MinedDetection], rarity: RarityTable,
               labelled_labels: Sequence[int] = ()) -> SignalReading:
    """Strongest rarity among considered detections and labelled boxes (model label indices)."""
    candidates = [(rarity.rarity_of(d.label), d.label, "detected") for d in detections]
    candidates += [(rarity.rarity_of(label), label, "labelled") for label in labelled_labels]
    candidates = [c for c in candidates if c[0] > 0]
    if not candidates:
        return SignalReading(0.0, {"rare_class_hits": 0})
    strength, label, how = max(candidates, key=lambda c: (c[0], c[2] == "labelled", -c[1]))
    entry = rarity.classes[label]
    return SignalReading(strength, {"rare_class_hits": len(candidates), "rarest_class": entry.class_name},
                         f"rare class {how}: {entry.class_name} ({entry.training_boxes} training boxes)")


def tiny_objects(detections: list[MinedDetection], tiny_px: float, saturation: int) -> SignalReading:
    tiny = [d for d in detections if max(d.box[2] - d.box[0], d.box[3] - d.box[1]) < tiny_px]
    if not tiny:
        return SignalReading(0.0, {"tiny_detections": 0})
    return SignalReading(min(1.0, len(tiny) / saturation), {"tiny_detections": len(tiny)},
                         f"tiny signs: {len(tiny)} detection{'s' if len(tiny) > 1 else ''} under {tiny_px:g} px")


@dataclass(frozen=True)
class Disagreement:
    only_reference: int  # found by the reference backend only
    only_candidate: int  # found by the other backend only
    class_changed: int  # the same place, another class

    @property
    def total(self) -> int:
        return self.only_reference + self.only_candidate + self.class_changed


def count_disagreement(reference: Detections, candidate: Detections, threshold: float, iou: float) -> Disagreement:
    """Detections at the operating threshold that two backends do not share (see the module docstring)."""
    ref = reference.above(threshold)
    cand = candidate.above(threshold)
    pairs = match_detection_sets(ref, cand, iou)
    left = sorted(set(range(len(ref))) - {r for r, _ in pairs})
    right = sorted(set(range(len(cand))) - {c for _, c in pairs})
    changed = 0
    if left and right:
        overlap = pairwise_iou(ref.boxes[left], cand.boxes[right])
        taken: set[int] = set()
        for i in range(len(left)):
            order = np.argsort(-overlap[i], kind="stable")
            j = next((int(j) for j in order if overlap[i, j] >= iou and int(j) not in taken), None)
            if j is not None:
                taken.add(j)
                changed += 1
    return Disagreement(len(left) - changed, len(right) - changed, changed)


def backend_disagreement(counts: dict[str, Disagreement], reference_name: str, saturation: int) -> SignalReading:
    if not counts:
        return SignalReading(0.0)
    name, worst = max(counts.items(), key=lambda item: (item[1].total, item[0]))
    measurements: dict[str, float | int | str] = {f"disagreements_{n}": c.total for n, c in sorted(counts.items())}
    if worst.total == 0:
        return SignalReading(0.0, measurements)
    parts = []
    if worst.only_reference:
        parts.append(f"{worst.only_reference} missing in {name}")
    if worst.only_candidate:
        parts.append(f"{worst.only_candidate} only in {name}")
    if worst.class_changed:
        parts.append(f"{worst.class_changed} with another class")
    return SignalReading(min(1.0, worst.total / saturation), measurements,
                         f"{reference_name} and {name} disagree: {', '.join(parts)}")


@dataclass(frozen=True)
class LabelledErrors:
    """One labelled image's errors at the operating threshold (from gate.eval's matching)."""

    labelled_signs: int
    missed: int
    confusions: list[tuple[str, str]]  # (labelled class, predicted class)
    false_positives: int


def missed_signal(errors: LabelledErrors) -> SignalReading:
    measurements: dict[str, float | int | str] = {"labelled_signs": errors.labelled_signs, "missed": errors.missed,
                                                  "false_positives": errors.false_positives}
    if errors.labelled_signs == 0 or errors.missed == 0:
        return SignalReading(0.0, measurements)
    return SignalReading(errors.missed / errors.labelled_signs, measurements,
                         f"missed {errors.missed} of {errors.labelled_signs} labelled signs")


def confused_signal(errors: LabelledErrors) -> SignalReading:
    measurements: dict[str, float | int | str] = {"confusions": len(errors.confusions)}
    if not errors.confusions:
        return SignalReading(0.0, measurements)
    truth, predicted = errors.confusions[0]
    more = f" (+{len(errors.confusions) - 1} more)" if len(errors.confusions) > 1 else ""
    return SignalReading(1.0, measurements, f"confused: labelled {truth}, predicted {predicted}{more}")
