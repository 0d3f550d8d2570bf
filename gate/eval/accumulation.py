"""COCO precision/recall accumulation from match records, for any multiset of images.

`AccumulationPlan` is prepared once per record set; `accumulate(plan, image_weights)` then gives
pycocotools' `eval['precision']` and `eval['recall']` arrays for the dataset in which image i
appears `image_weights[i]` times (weights of 1 everywhere: the dataset itself; a bootstrap resample:
its multiplicities). Nothing is re-matched and nothing is re-sorted per call.

Why this equals pycocotools on the resampled dataset, where each copy of an image is a separate
image (listed next to the other copies of the same image, in the original image order):
- matching is per image and class, so a copy's detections match exactly as the original's did;
  max-dets truncation and area-range ignore flags are per image too, so they carry over;
- pycocotools concatenates detections image by image and stable-sorts them by score, so the order
  is (-score, image, copy, rank in image). Detections are pre-sorted by (-score, image, rank) and a
  detection with weight w stands for its w consecutive copies. That is exact, because only the
  points that end a run of true positives matter for the interpolated precision, and a detection
  repeated w times in a row is such a run (or a run of false positives, which never sets a maximum);
- the one case where copies do not sit next to each other is two detections of one image and class
  with the very same score: their copies interleave (d1, d2, d1, d2). Those detections are expanded
  into per-copy entries (weight 1 if the image has at least that many copies, else 0), sorted by
  copy before rank, which reproduces the interleaving exactly.
Per column (class, area range, IoU threshold), only the matched detections become "events"; the
number of false positives before an event is the weighted count of in-range detections before it
minus the in-range matched ones, so the work per call is one cumulative sum over detections plus
work proportional to the matches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gate.eval.records import MatchRecords

# pycocotools' Params.recThrs and Params.maxDets.
RECALL_THRESHOLDS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
COCO_MAX_DETS_LIST = (1, 10, 100)
_EPS = np.spacing(1)
_BIG = np.int64(1) << 40


@dataclass
class AccumulationPlan:
    num_classes: int
    num_areas: int
    num_thresholds: int
    area_columns: tuple[int, ...]  # columns of the records' area ranges, in plan order
    max_dets: tuple[int, ...]
    # virtual detections (one per detection, or per copy for expanded score ties), sorted
    v_image: np.ndarray
    v_copy: np.ndarray  # 0: weight = image weight; c >= 1: weight = (image weight >= c)
    v_inside: np.ndarray  # (V, A) bool: detection area within the area range
    class_start: np.ndarray  # (K + 1,) first virtual detection of each class
    expanded: bool
    # events (matched detections), sorted by (column, position)
    e_pos: np.ndarray
    e_col: np.ndarray
    e_class_area: np.ndarray  # class * A + area
    e_area: np.ndarray
    e_tp: np.ndarray
    e_inside: np.ndarray
    e_rank: np.ndarray
    e_first: np.ndarray  # first event of the event's column
    col_end: np.ndarray  # (C,) one past the last event of each column
    # ground truth counted per area range
    g_image: np.ndarray
    g_bin: np.ndarray  # class * A + area, one entry per (counted gt, area range)


@dataclass
class Accumulated:
    """pycocotools-shaped arrays: precision (K, A, T, R), recall (K, A, T, M), gt counts (K, A)."""

    precision: np.ndarray
    recall: np.ndarray
    npig: np.ndarray

    @property
    def valid(self) -> np.ndarray:
        """(K, A): the class has counted ground truth in this area range (else pycocotools' -1)."""
        return self.npig > 0


def within_image_ties(records: MatchRecords) -> bool:
    """Whether two AP-relevant detections of one image and class share a score."""
    keep = records.det_rank < records.max_dets
    key = np.stack([records.det_image[keep], records.det_category[keep]], axis=1)
    if key.shape[0] < 2:
        return False
    order = np.lexsort((records.det_score[keep], key[:, 1], key[:, 0]))
    same = (np.diff(key[order], axis=0) == 0).all(axis=1) & (np.diff(records.det_score[keep][order]) == 0)
    return bool(same.any())


def build_plan(
    records: MatchRecords,
    area_columns: tuple[int, ...] | None = None,
    tie_copies: int = 1,
    max_dets: tuple[int, ...] = COCO_MAX_DETS_LIST,
) -> AccumulationPlan:
    """Prepare the sorted detections and events; `tie_copies` = the most copies any image will get."""
    cols = tuple(range(records.area_ranges.shape[0])) if area_columns is None else tuple(area_columns)
    n_k, n_a, n_t = records.num_categories, len(cols), records.iou_thresholds.shape[0]
    keep = np.flatnonzero(records.det_rank < records.max_dets)
    cls, score = records.det_category[keep], records.det_score[keep]
    img, rank = records.det_image[keep], records.det_rank[keep]
    copy = np.zeros(keep.shape[0], np.int64)

    expanded = False
    if tie_copies > 1 and keep.size > 1:
        order = np.lexsort((rank, img, -score, cls))
        k_s, s_s, i_s = cls[order], score[order], img[order]
        same_next = (k_s[1:] == k_s[:-1]) & (s_s[1:] == s_s[:-1]) & (i_s[1:] == i_s[:-1])
        in_group = np.zeros(order.size, bool)
        in_group[1:] |= same_next
        in_group[:-1] |= same_next
        tied = order[in_group]
        if tied.size:
            expanded = True
            plain = order[~in_group]
            reps = np.repeat(tied, tie_copies)
            copies = np.tile(np.arange(1, tie_copies + 1), tied.size)
            keep = np.concatenate([keep[plain], keep[reps]])
            copy = np.concatenate([np.zeros(plain.size, np.int64), copies])
            cls, score = records.det_category[keep], records.det_score[keep]
            img, rank = records.det_image[keep], records.det_rank[keep]

    order = np.lexsort((rank, copy, img, -score, cls))
    keep, copy = keep[order], copy[order]
    cls, img, rank = cls[order], img[order], rank[order]
    area = records.det_bbox[keep, 2] * records.det_bbox[keep, 3]
    ranges = records.area_ranges[list(cols)]
    inside = (area[:, None] >= ranges[None, :, 0]) & (area[:, None] <= ranges[None, :, 1])

    shifts = np.arange(n_t, dtype=np.uint16)
    tp = ((records.det_tp[keep][:, list(cols), None] >> shifts) & 1).astype(bool)  # (V, A, T)
    ig = ((records.det_ignored[keep][:, list(cols), None] >> shifts) & 1).astype(bool)
    event = tp | (ig & inside[:, :, None])
    pos, e_a, e_t = np.nonzero(event)
    e_tp = tp[pos, e_a, e_t]
    del tp, ig, event
    e_col = (cls[pos].astype(np.int64) * n_a + e_a) * n_t + e_t
    ev_order = np.lexsort((pos, e_col))
    pos, e_a, e_col, e_tp = pos[ev_order], e_a[ev_order], e_col[ev_order], e_tp[ev_order]
    n_cols = n_k * n_a * n_t
    col_start = np.searchsorted(e_col, np.arange(n_cols), "left")
    col_end = np.searchsorted(e_col, np.arange(n_cols), "right")

    counted = np.stack(
        [~records.gt_ignore & (records.gt_area >= lo) & (records.gt_area <= hi) for lo, hi in ranges], axis=1
    ) if records.gt_image.size else np.zeros((0, n_a), bool)
    g_idx, g_a = np.nonzero(counted)
    return AccumulationPlan(
        num_classes=n_k,
        num_areas=n_a,
        num_thresholds=n_t,
        area_columns=cols,
        max_dets=tuple(max_dets),
        v_image=img.astype(np.int64),
        v_copy=copy,
        v_inside=inside,
        class_start=np.searchsorted(cls, np.arange(n_k + 1), "left"),
        expanded=expanded,
        e_pos=pos.astype(np.int64),
        e_col=e_col,
        e_class_area=cls[pos].astype(np.int64) * n_a + e_a,
        e_area=e_a.astype(np.int64),
        e_tp=e_tp,
        e_inside=inside[pos, e_a],
        e_rank=rank[pos].astype(np.int64),
        e_first=col_start[e_col],
        col_end=col_end,
        g_image=records.gt_image[g_idx].astype(np.int64),
        g_bin=records.gt_category[g_idx].astype(np.int64) * n_a + g_a,
    )


def _recall_needs(npig: np.ndarray) -> np.ndarray:
    """(C,) gt counts -> (C, R): the least true-positive count k with k / n >= recall threshold,
    computed with the same float division pycocotools uses (so boundary cases agree)."""
    n = npig.astype(np.float64)[:, None]
    r = RECALL_THRESHOLDS[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.ceil(r * n)
        k = np.where((k - 1) / n >= r, k - 1, k)
        k = np.where(k / n < r, k + 1, k)
    k = np.where(npig[:, None] > 0, k, _BIG - 1)
    return k.astype(np.int64)


def accumulate(plan: AccumulationPlan, image_weights: np.ndarray) -> Accumulated:
    """Precision and recall as pycocotools would compute them with each image repeated `weight` times."""
    w = np.asarray(image_weights, dtype=np.int64)
    n_k, n_a, n_t = plan.num_classes, plan.num_areas, plan.num_thresholds
    n_r = RECALL_THRESHOLDS.shape[0]
    wv = w[plan.v_image]
    if plan.expanded:
        wv = np.where(plan.v_copy == 0, wv, (wv >= plan.v_copy).astype(np.int64))

    npig = np.bincount(plan.g_bin, weights=w[plan.g_image], minlength=n_k * n_a).astype(np.int64).reshape(n_k, n_a)

    # Weighted count of in-range detections up to each position, per area range.
    cum_inside = np.zeros((wv.shape[0] + 1, n_a), np.int64)
    np.cumsum(wv[:, None] * plan.v_inside, axis=0, out=cum_inside[1:])
    e_class = plan.e_class_area // n_a
    cin = cum_inside[plan.e_pos + 1, plan.e_area] - cum_inside[plan.class_start[e_class], plan.e_area]

    we = wv[plan.e_pos]
    tpw = we * plan.e_tp
    inw = we * plan.e_inside
    ctp = np.concatenate(([0], np.cumsum(tpw)))
    cin_m = np.concatenate(([0], np.cumsum(inw)))
    idx = np.arange(we.shape[0])
    tp = ctp[idx + 1] - ctp[plan.e_first]
    fp = cin - (cin_m[idx + 1] - cin_m[plan.e_first])
    live = plan.e_tp & (we > 0)
    pr = np.zeros(we.shape[0] + 1)
    tp_f = tp[live].astype(np.float64)
    pr[:-1][live] = tp_f / ((fp[live] + tp[live]).astype(np.float64) + _EPS)

    n_cols = n_k * n_a * n_t
    needs = _recall_needs(npig.reshape(-1))  # (K * A, R)
    needs = np.repeat(needs, n_t, axis=0)  # (C, R): columns ordered (k, a, t)
    col_ids = np.arange(n_cols, dtype=np.int64)
    keys = plan.e_col * _BIG + tp
    query = col_ids[:, None] * _BIG + needs
    hit = np.searchsorted(keys, query.reshape(-1), "left").reshape(n_cols, n_r)
    reach = hit < plan.col_end[:, None]
    bounds = np.empty((n_cols, n_r + 1), np.int64)
    bounds[:, :n_r] = np.where(reach, hit, plan.col_end[:, None])
    bounds[:, n_r] = plan.col_end
    if we.shape[0]:
        seg_max = np.maximum.reduceat(pr, bounds.reshape(-1)).reshape(n_cols, n_r + 1)[:, :n_r]
    else:
        seg_max = np.zeros((n_cols, n_r))
    seg_max = np.where(reach, seg_max, 0.0)
    q = np.maximum.accumulate(seg_max[:, ::-1], axis=1)[:, ::-1]
    precision = q.reshape(n_k, n_a, n_t, n_r)
    valid = npig > 0
    precision = np.where(valid[:, :, None, None], precision, -1.0)

    recall = np.empty((n_k, n_a, n_t, len(plan.max_dets)))
    for m, limit in enumerate(plan.max_dets):
        sel = plan.e_tp & (plan.e_rank < limit)
        found = np.bincount(plan.e_col[sel], weights=we[sel], minlength=n_cols).reshape(n_k, n_a, n_t)
        with np.errstate(divide="ignore", invalid="ignore"):
            recall[:, :, :, m] = np.where(valid[:, :, None], found / np.maximum(npig, 1)[:, :, None], -1.0)
    return Accumulated(precision=precision, recall=recall, npig=npig)


def coco_summary(acc: Accumulated, area_all: int, area_small: int, area_medium: int, area_large: int,
                 iou_thresholds: np.ndarray) -> np.ndarray:
    """The 12 numbers of `COCOeval.stats` (bbox), from accumulated arrays."""
    t50 = int(np.flatnonzero(np.isclose(iou_thresholds, 0.5))[0])
    t75 = int(np.flatnonzero(np.isclose(iou_thresholds, 0.75))[0])

    def ap(area, t=None):
        s = acc.precision[:, area]
        s = s[:, t] if t is not None else s
        s = s[s > -1]
        return float(np.mean(s)) if s.size else -1.0

    def ar(area, m):
        s = acc.recall[:, area, :, m]
        s = s[s > -1]
        return float(np.mean(s)) if s.size else -1.0

    return np.array([
        ap(area_all), ap(area_all, t50), ap(area_all, t75),
        ap(area_small), ap(area_medium), ap(area_large),
        ar(area_all, 0), ar(area_all, 1), ar(area_all, 2),
        ar(area_small, 2), ar(area_medium, 2), ar(area_large, 2),
    ])
