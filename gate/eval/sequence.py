"""Sequence metrics: what a car would know in time, from the per-frame detections of any detector.

No tracker is asked of the model. In every frame tsrgate associates the detections (at the operating
threshold) with the ground-truth sign boxes by IoU, same-class pairs first, then any class, so a
ground-truth track gets one observation per frame: the class the model read there, or none. A track
is *confirmed as class c* at frame t when c was read in at least k of the m frames ending at t
(`ConfirmationRule`, from the policy). From there:

- `sign_recognised_before_passing`: share of scored tracks that leave the view during the drive and
  were confirmed as their true class before that (at or before their last visible frame);
- `first_confirmation_distance_median` / `_p10`: over those tracks, the distance (m) at the first
  correct confirmation; a track never confirmed counts as 0 m;
- `speed_limit_accuracy`: share of frames, over the frames whose limit in force is known, where the
  car's reading equals it; `speed_limit_accuracy_distance` weights each frame by the distance driven
  during it. The reading changes when the car passes a sign (the ground truth's `passed_frame`) that
  was confirmed, at its last visible frame, as a speed limit (or end of limit): it is what the car
  would show; confirmed false signs change it when they leave the view;
- `speed_limit_change_accuracy`: share of limit changes (a limit or end-of-limit sign passed during
  the drive whose value differs from the limit in force before it) whose sign was confirmed as its
  true class before it left the view;
- `flicker_rate`: per second of confirmed track time, class changes and drop-outs in what the model
  reads for a track after its first confirmation (any class);
- `false_sign_events_per_km`: detections that match no ground-truth box, chained frame to frame by
  class and IoU, that reach confirmation; per kilometre driven.

All of them are sums over drives, so the paired bootstrap resamples whole drives (frames of one
drive are not independent): `paired_sequence_bootstrap`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict

from gate.errors import InputError, RefusedError
from gate.eval.results import MetricDelta
from gate.data.sequence import UNKNOWN_LIMIT, SequenceDrive, SequenceTable


@dataclass(frozen=True)
class SequenceMetric:
    name: str
    higher_is_better: bool
    per_class: bool
    description: str


SEQUENCE_METRICS: dict[str, SequenceMetric] = {m.name: m for m in (
    SequenceMetric("sign_recognised_before_passing", True, True,
                   "share of sign tracks confirmed as their class before they leave the view"),
    SequenceMetric("first_confirmation_distance_median", True, True,
                   "median distance (m) at the first correct confirmation; never confirmed = 0"),
    SequenceMetric("first_confirmation_distance_p10", True, True,
                   "10th percentile of the distance (m) at the first correct confirmation; never confirmed = 0"),
    SequenceMetric("speed_limit_accuracy", True, False,
                   "share of frames whose confirmed speed-limit reading equals the limit in force"),
    SequenceMetric("speed_limit_accuracy_distance", True, False,
                   "share of distance driven with the confirmed speed-limit reading equal to the limit in force"),
    SequenceMetric("speed_limit_change_accuracy", True, True,
                   "share of speed-limit changes whose new value is confirmed before the sign is passed"),
    SequenceMetric("flicker_rate", False, False,
                   "class changes and drop-outs per confirmed track per second"),
    SequenceMetric("false_sign_events_per_km", False, False,
                   "confirmed tracks with no ground-truth sign, per kilometre driven"),
)}


@dataclass(frozen=True)
class ConfirmationRule:
    """Right class in `k` of `m` consecutive frames; detections associate with truth at IoU >= `iou`."""

    k: int = 2
    m: int = 3
    iou: float = 0.5
    false_track_iou: float = 0.3  # unmatched detections chain into a false track frame to frame

    def __post_init__(self) -> None:
        if not 1 <= self.k <= self.m:
            raise InputError(f"confirmation needs 1 <= k <= m, got k={self.k}, m={self.m}")


@dataclass(frozen=True)
class FrameTruth:
    """Ground-truth boxes of one frame (xyxy) with their track ids, categories and distances (m)."""

    track_ids: np.ndarray
    categories: np.ndarray
    boxes: np.ndarray
    distances: np.ndarray


@dataclass(frozen=True)
class FrameDetections:
    """Detections of one frame at the operating threshold: xyxy boxes, evaluation categories, scores."""

    boxes: np.ndarray
    categories: np.ndarray
    scores: np.ndarray


def empty_truth() -> FrameTruth:
    return FrameTruth(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0))


def empty_detections() -> FrameDetections:
    return FrameDetections(np.zeros((0, 4)), np.zeros(0, np.int64), np.zeros(0))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TrackOutcome(_Model):
    track_id: int
    category_id: int
    class_name: str
    first_frame: int
    last_frame: int
    passed: bool
    ignore: bool
    readings: list[int | None]  # category read per frame of the drive (None: not detected or not visible)
    confirmed_frame: int | None  # first frame confirmed as the true class
    confirmation_distance_m: float  # 0 when never confirmed
    recognised_before_passing: bool
    final_reading: int | None  # class confirmed at the last visible frame (what the car acts on)
    limit_change: bool  # a change of the limit in force when passed
    flicker_events: int
    confirmed_seconds: float


class DriveOutcome(_Model):
    id: str
    fps: float
    length_m: float
    image_ids: list[int]
    limit_truth: list[int]
    limit_reading: list[int]
    tracks: list[TrackOutcome]
    false_sign_events: int
    false_sign_frames: list[int]  # frames where a false sign was confirmed

    def limit_frames(self) -> tuple[int, int]:
        """(correct, counted) frames with a known limit in force."""
        known = [(t, r) for t, r in zip(self.limit_truth, self.limit_reading, strict=True) if t != UNKNOWN_LIMIT]
        return sum(t == r for t, r in known), len(known)


class SequenceEvaluation(_Model):
    """Per drive and track outcomes of one model on one sequence suite."""

    rule: dict[str, float]
    category_names: dict[int, str]
    drives: list[DriveOutcome]

    def metrics(self) -> dict[str, float | None]:
        """Every sequence metric on the whole suite (None where undefined)."""
        stats = drive_statistics(self)
        return {name: value for (name, cls), value in stats.point_values().items() if cls is None}


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-12)


def associate(truth: FrameTruth, dets: FrameDetections, iou_threshold: float) -> tuple[dict[int, int], list[int]]:
    """({truth index: detection index}, unmatched detection indices): greedy by IoU, same-class pairs first,
    higher scores first among equals."""
    iou = box_iou(truth.boxes, dets.boxes)
    pairs = []
    for t, d in zip(*np.nonzero(iou >= iou_threshold)):
        same = truth.categories[t] == dets.categories[d]
        pairs.append((not same, -float(dets.scores[d]), -float(iou[t, d]), int(t), int(d)))
    pairs.sort()
    matched: dict[int, int] = {}
    used: set[int] = set()
    for *_, t, d in pairs:
        if t not in matched and d not in used:
            matched[t] = d
            used.add(d)
    return matched, [d for d in range(len(dets.scores)) if d not in used]


def _confirmations(readings: list[int | None], rule: ConfirmationRule) -> list[int | None]:
    """Per frame, the class confirmed there (k of the m frames ending there), or None."""
    out: list[int | None] = []
    for t in range(len(readings)):
        window = [r for r in readings[max(0, t - rule.m + 1):t + 1] if r is not None]
        counts: dict[int, int] = {}
        for r in window:
            counts[r] = counts.get(r, 0) + 1
        best = [c for c, n in counts.items() if n >= rule.k]
        if not best:
            out.append(None)
        elif len(best) == 1:
            out.append(best[0])
        else:  # two classes confirmed in one window (k <= m/2): the one read at t, else the most read
            out.append(readings[t] if readings[t] in best else max(best, key=lambda c: (counts[c], -c)))
    return out


def _flicker(readings: list[int | None], start: int, end: int) -> int:
    """Class changes and drop-outs in frames start+1..end (readings after the first confirmation)."""
    events = 0
    for t in range(start + 1, end + 1):
        previous, now = readings[t - 1], readings[t]
        if previous is not None and now != previous:
            events += 1
    return events


def evaluate_drive(drive: SequenceDrive, truth: list[FrameTruth], dets: list[FrameDetections],
                   names: Mapping[int, str], rule: ConfirmationRule, limit_of: Callable[[str], int | None]) -> DriveOutcome:
    """All per-track and per-frame outcomes of one drive."""
    n = len(drive.image_ids)
    readings: dict[int, list[int | None]] = {t.track_id: [None] * n for t in drive.tracks}
    distances: dict[int, list[float]] = {t.track_id: [0.0] * n for t in drive.tracks}
    false_tracks: list[dict] = []  # open and closed chains of unmatched detections
    open_chains: list[dict] = []
    for f in range(n):
        matched, unmatched = associate(truth[f], dets[f], rule.iou)
        for ti, di in matched.items():
            track = int(truth[f].track_ids[ti])
            readings[track][f] = int(dets[f].categories[di])
        for ti in range(len(truth[f].track_ids)):
            distances[int(truth[f].track_ids[ti])][f] = float(truth[f].distances[ti])
        # Chain unmatched detections with last frame's open chains (same class, IoU >= false_track_iou).
        next_open = []
        boxes = dets[f].boxes[unmatched] if unmatched else np.zeros((0, 4))
        ious = box_iou(np.array([c["box"] for c in open_chains]).reshape(-1, 4), boxes)
        taken: set[int] = set()
        for ui, d in enumerate(unmatched):
            category = int(dets[f].categories[d])
            best, best_iou = None, rule.false_track_iou
            for ci, chain in enumerate(open_chains):
                if ci not in taken and chain["category"] == category and ious[ci, ui] >= best_iou:
                    best, best_iou = ci, ious[ci, ui]
            if best is None:
                chain = {"category": category, "frames": [], "box": None}
                false_tracks.append(chain)
            else:
                taken.add(best)
                chain = open_chains[best]
            chain["frames"].append(f)
            chain["box"] = dets[f].boxes[d]
            next_open.append(chain)
        open_chains = next_open

    limit_events: list[tuple[int, int]] = []  # (frame the reading changes, value)
    outcomes = []
    for track in drive.tracks:
        r = readings[track.track_id]
        confirmed = _confirmations(r, rule)
        first_right = next((t for t in range(track.first_frame, track.last_frame + 1)
                            if confirmed[t] == track.category_id), None)
        first_any = next((t for t in range(track.first_frame, track.last_frame + 1) if confirmed[t] is not None), None)
        final = next((confirmed[t] for t in range(track.last_frame, track.first_frame - 1, -1)
                      if confirmed[t] is not None), None)
        passed_at = track.passed_frame
        if final is not None and limit_of(names.get(final, "")) is not None and passed_at < n:
            limit_events.append((passed_at, limit_of(names[final])))
        value = limit_of(names.get(track.category_id, ""))
        before = drive.speed_limit[passed_at - 1] if 0 < passed_at <= n else UNKNOWN_LIMIT
        change = value is not None and passed_at < n and value != before
        outcomes.append(TrackOutcome(
            track_id=track.track_id, category_id=track.category_id,
            class_name=names.get(track.category_id, str(track.category_id)), first_frame=track.first_frame,
            last_frame=track.last_frame, passed=track.passed, ignore=track.ignore, readings=r,
            confirmed_frame=first_right,
            confirmation_distance_m=distances[track.track_id][first_right] if first_right is not None else 0.0,
            recognised_before_passing=first_right is not None, final_reading=final, limit_change=change,
            flicker_events=_flicker(r, first_any, track.last_frame) if first_any is not None else 0,
            confirmed_seconds=(track.last_frame - first_any) / drive.fps if first_any is not None else 0.0,
        ))
    false_frames = []
    for chain in false_tracks:
        frames = chain["frames"]
        for f in frames:
            if sum(1 for g in frames if f - rule.m < g <= f) >= rule.k:
                false_frames.append(f)
                value = limit_of(names.get(chain["category"], ""))
                if value is not None and frames[-1] + 1 < n:
                    limit_events.append((frames[-1] + 1, value))
                break
    reading = [UNKNOWN_LIMIT] * n
    current = UNKNOWN_LIMIT
    events = sorted(limit_events)
    e = 0
    for f in range(n):
        while e < len(events) and events[e][0] <= f:
            current = events[e][1]
            e += 1
        reading[f] = current
    return DriveOutcome(id=drive.id, fps=drive.fps, length_m=drive.length_m, image_ids=drive.image_ids,
                        limit_truth=list(drive.speed_limit), limit_reading=reading, tracks=outcomes,
                        false_sign_events=len(false_frames), false_sign_frames=sorted(false_frames))


def evaluate_sequences(table: SequenceTable, truth: Mapping[int, FrameTruth], detections: Mapping[int, FrameDetections],
                       names: Mapping[int, str], rule: ConfirmationRule = ConfirmationRule(),
                       limit_of: Callable[[str], int | None] | None = None) -> SequenceEvaluation:
    """Outcomes of every drive; `truth` and `detections` are keyed by image id (missing = empty)."""
    if limit_of is None:
        from gate.data.synth.drive import limit_value as limit_of
    if not table.drives:
        raise InputError("the suite has no drives: sequence metrics need a sequence suite")
    drives = []
    for drive in table.drives:
        drives.append(evaluate_drive(
            drive, [truth.get(i, empty_truth()) for i in drive.image_ids],
            [detections.get(i, empty_detections()) for i in drive.image_ids], names, rule, limit_of))
    return SequenceEvaluation(rule={"k": rule.k, "m": rule.m, "iou": rule.iou}, category_names=dict(names),
                              drives=drives)


# --- statistics per drive, for point values and the drive bootstrap ---------------------------------


@dataclass
class _Ratio:
    num: np.ndarray  # (D,)
    den: np.ndarray  # (D,)
    support: int


@dataclass
class _Quantile:
    values: np.ndarray  # (T,)
    drive: np.ndarray  # (T,) drive index of each value
    q: float
    support: int


@dataclass
class DriveStatistics:
    """Per metric and scope (class name or None), what each drive contributes."""

    drives: int
    figures: dict[tuple[str, str | None], _Ratio | _Quantile]

    def point_values(self) -> dict[tuple[str, str | None], float | None]:
        ones = np.ones((1, self.drives))
        return {key: (None if np.isnan(v := float(_values(fig, ones)[0])) else v) for key, fig in self.figures.items()}


def _scored(track: TrackOutcome) -> bool:
    return track.passed and not track.ignore


def drive_statistics(evaluation: SequenceEvaluation) -> DriveStatistics:
    """Sufficient statistics per drive for every metric and class scope."""
    drives = evaluation.drives
    d = len(drives)
    figures: dict[tuple[str, str | None], _Ratio | _Quantile] = {}

    def ratio(key, num, den, support=None):
        num, den = np.asarray(num, np.float64), np.asarray(den, np.float64)
        figures[key] = _Ratio(num, den, int(den.sum()) if support is None else support)

    classes = sorted({t.class_name for dr in drives for t in dr.tracks if _scored(t)})
    for scope in [None, *classes]:
        def pick(t, scope=scope):
            return _scored(t) and (scope is None or t.class_name == scope)

        ratio(("sign_recognised_before_passing", scope),
              [sum(t.recognised_before_passing for t in dr.tracks if pick(t)) for dr in drives],
              [sum(1 for t in dr.tracks if pick(t)) for dr in drives])
        values = [(t.confirmation_distance_m, i) for i, dr in enumerate(drives) for t in dr.tracks if pick(t)]
        vals = np.array([v for v, _ in values], np.float64)
        idx = np.array([i for _, i in values], np.int64)
        figures[("first_confirmation_distance_median", scope)] = _Quantile(vals, idx, 0.5, len(values))
        figures[("first_confirmation_distance_p10", scope)] = _Quantile(vals, idx, 0.1, len(values))
    change_classes = sorted({t.class_name for dr in drives for t in dr.tracks if t.limit_change})
    for scope in [None, *change_classes]:
        def change(t, scope=scope):
            return t.limit_change and (scope is None or t.class_name == scope)

        ratio(("speed_limit_change_accuracy", scope),
              [sum(t.recognised_before_passing for t in dr.tracks if change(t)) for dr in drives],
              [sum(1 for t in dr.tracks if change(t)) for dr in drives])
    frames = [dr.limit_frames() for dr in drives]
    ratio(("speed_limit_accuracy", None), [c for c, _ in frames], [n for _, n in frames])
    step = [dr.length_m / max(1, len(dr.image_ids) - 1) for dr in drives]
    ratio(("speed_limit_accuracy_distance", None), [c * s for (c, _), s in zip(frames, step, strict=True)],
          [n * s for (_, n), s in zip(frames, step, strict=True)], support=sum(n for _, n in frames))
    ratio(("flicker_rate", None), [sum(t.flicker_events for t in dr.tracks if not t.ignore) for dr in drives],
          [sum(t.confirmed_seconds for t in dr.tracks if not t.ignore) for dr in drives],
          support=sum(1 for dr in drives for t in dr.tracks if not t.ignore and t.confirmed_seconds > 0))
    ratio(("false_sign_events_per_km", None), [dr.false_sign_events for dr in drives],
          [dr.length_m / 1000.0 for dr in drives], support=d)
    return DriveStatistics(d, figures)


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> np.ndarray:
    """Per row of `weights` (B, T), the inverted-CDF quantile of `values` (numpy's `inverted_cdf` for
    unit weights); NaN where a row's weights are all zero."""
    if values.size == 0:
        return np.full(weights.shape[0], np.nan)
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[:, order], axis=1)
    total = cum[:, -1]
    index = np.argmax(cum >= q * total[:, None] - 1e-9, axis=1)
    out = values[order][index]
    return np.where(total > 0, out, np.nan)


def _values(figure: _Ratio | _Quantile, weights: np.ndarray) -> np.ndarray:
    """The figure under drive weights (B, D) -> (B,)."""
    if isinstance(figure, _Ratio):
        num, den = weights @ figure.num, weights @ figure.den
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return _weighted_quantile(figure.values, weights[:, figure.drive], figure.q)


def drive_resample_weights(drives: int, resamples: int, seed: int) -> np.ndarray:
    """(resamples, drives) multiplicities of whole drives drawn with replacement (a fixed function of the seed)."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, drives, size=(resamples, drives))
    weights = np.zeros((resamples, drives), np.float64)
    np.add.at(weights, (np.repeat(np.arange(resamples), drives), draws.reshape(-1)), 1.0)
    return weights


def _drive_signature(evaluation: SequenceEvaluation) -> list[tuple]:
    return [(d.id, tuple(d.image_ids), tuple((t.track_id, t.category_id) for t in d.tracks)) for d in evaluation.drives]


def paired_sequence_bootstrap(candidate: SequenceEvaluation, baseline: SequenceEvaluation, *, resamples: int = 1000,
                              confidence: float = 0.95, seed: int = 0, min_support: int = 10) -> list[MetricDelta]:
    """Deltas (candidate - baseline) of every sequence metric and class scope, with percentile CIs from
    one shared set of whole-drive resamples."""
    if _drive_signature(candidate) != _drive_signature(baseline):
        raise RefusedError("candidate and baseline sequence outcomes come from different drives or tracks")
    if resamples < 1:
        raise InputError(f"resamples must be >= 1, got {resamples}")
    cand, base = drive_statistics(candidate), drive_statistics(baseline)
    weights = drive_resample_weights(cand.drives, resamples, seed)
    ones = np.ones((1, cand.drives))
    alpha = (1.0 - confidence) / 2.0
    out = []
    names_to_id = {v: k for k, v in candidate.category_names.items()}
    for key in sorted(set(cand.figures) | set(base.figures), key=lambda k: (k[0], k[1] or "")):
        metric, scope = key
        info = SEQUENCE_METRICS[metric]
        fc, fb = cand.figures.get(key), base.figures.get(key)
        if fc is None or fb is None:  # e.g. a limit change class only one side's ground truth has: impossible
            continue
        cv, bv = float(_values(fc, ones)[0]), float(_values(fb, ones)[0])
        deltas = _values(fc, weights) - _values(fb, weights)
        valid = ~np.isnan(deltas)
        n_valid = int(valid.sum())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            low, high = (np.nanquantile(deltas, [alpha, 1.0 - alpha]) if n_valid else (np.nan, np.nan))
        not_worse = (deltas >= 0 if info.higher_is_better else deltas <= 0) & valid
        support = fc.support
        defined = not (np.isnan(cv) or np.isnan(bv)) and n_valid > 0
        status = ("insufficient_support" if scope is not None and support < min_support
                  else "ok" if defined else "undefined")
        out.append(MetricDelta(
            metric=metric, class_name=scope, category_id=names_to_id.get(scope) if scope else None, size=None,
            higher_is_better=info.higher_is_better, value_candidate=None if np.isnan(cv) else cv,
            value_baseline=None if np.isnan(bv) else bv, delta=None if np.isnan(cv) or np.isnan(bv) else cv - bv,
            ci_low=float(low) if n_valid else None, ci_high=float(high) if n_valid else None,
            p_worse=float((1.0 + not_worse.sum()) / (1.0 + n_valid)) if n_valid else None,
            support=int(support), status=status, valid_resamples=n_valid,
        ))
    return out
