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
work proportional to the matches. Along a column the number of COCO recall thresholds an event
reaches only grows, so the best precision per (column, thresholds reached), kept in a columns x 102
grid (`maximum.at`) and run through a reverse running maximum, is exactly pycocotools' interpolated
precision array, with no search per threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from gate.eval.records import MatchRecords

# pycocotools' Params.recThrs and Params.maxDets.
RECALL_THRESHOLDS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
COCO_MAX_DETS_LIST = (1, 10, 100)
_EPS = np.spacing(1)
# r_j > j / 100 in floating point: a recall of exactly j / 100 does not reach threshold j
_TIE_MISSES = (RECALL_THRESHOLDS > np.arange(RECALL_THRESHOLDS.shape[0]) / 100.0).astype(np.int64)


@dataclass
class AccumulationPlan:
    num_images: int
    num_classes: int
    num_areas: int
    num_thresholds: int
    area_columns: tuple[int, ...]  # columns of the records' area ranges, in plan order
    max_dets: tuple[int, ...]
    expanded: bool  # some detections are expanded per copy (within-image score ties)
    # in-range detections per area range, concatenated area after area, each in sorted order
    p_image: np.ndarray
    p_copy: np.ndarray  # 0: weight = image weight; c >= 1: weight = (image weight >= c)
    # detection slots that events refer to (one per detection and area range)
    d_image: np.ndarray
    d_copy: np.ndarray
    d_cin: np.ndarray  # row of the in-range cumulative sum just after the detection
    # events (matched detections), sorted by (column, position)
    e_det: np.ndarray  # slot of the event's detection
    e_col: np.ndarray
    e_tp: np.ndarray  # int32: 1 for a true positive, 0 for an in-range ignored match
    e_inside: np.ndarray  # int32: the detection is in the area range
    e_rank_masks: list  # per max_dets entry but the last: int32, true positive with rank < limit
    # non-empty columns: their events are e[col_starts[i] : col_starts[i] + col_lens[i]]
    col_ids: np.ndarray
    col_starts: np.ndarray
    col_lens: np.ndarray
    col_last: np.ndarray
    col_class_area: np.ndarray  # class * A + area
    col_cin_lo: np.ndarray  # row of the in-range cumulative sum just before the class begins
    gt_counts: sparse.csr_matrix  # (K * A, I): counted ground truths per class/area and image


@dataclass
class Accumulated:
    """pycocotools-shaped arrays: interpolated precision (K, A, T, R), recall (K, A, T, M) and
    counted ground truth (K, A). `precision` and `recall` hold -1 where a class has no counted
    ground truth in an area range, as pycocotools' do; `interpolated` is the same precision without
    that masking (zeros there); `ap_columns` (K, A, T) its mean over the recall thresholds."""

    grid: np.ndarray  # (R, C): row u = recall threshold R - 1 - u, columns ordered (k, a, t)
    recall: np.ndarray
    npig: np.ndarray
    ap_columns: np.ndarray

    @property
    def interpolated(self) -> np.ndarray:
        n_k, n_a, n_t = self.ap_columns.shape
        return self.grid[::-1].T.reshape(n_k, n_a, n_t, self.grid.shape[0])

    @property
    def precision(self) -> np.ndarray:
        return np.where(self.valid[:, :, None, None], self.interpolated, -1.0)

    @property
    def valid(self) -> np.ndarray:
        """The class has counted ground truth in this area range (else pycocotools' -1)."""
        return self.npig > 0


def within_image_ties(records: MatchRecords) -> bool:
    """Whether two AP-relevant detections of one image and class share a score."""
    keep = records.det_rank < records.max_dets
    img, cat, score = records.det_image[keep], records.det_category[keep], records.det_score[keep]
    if img.shape[0] < 2:
        return False
    order = np.lexsort((score, cat, img))
    img, cat, score = img[order], cat[order], score[order]
    same = (img[1:] == img[:-1]) & (cat[1:] == cat[:-1]) & (score[1:] == score[:-1])
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
    cls, img, rank = cls[order], img[order].astype(np.int64), rank[order]
    n_v = keep.shape[0]
    area = records.det_bbox[keep, 2] * records.det_bbox[keep, 3]
    ranges = records.area_ranges[list(cols)]
    inside = (area[:, None] >= ranges[None, :, 0]) & (area[:, None] <= ranges[None, :, 1])
    class_start = np.searchsorted(cls, np.arange(n_k + 1), "left")

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
    nonempty = np.flatnonzero(col_end > col_start)

    # In-range detections of each area range, listed area after area; the weighted count of those
    # of class k up to position p is a difference of one cumulative sum over this list.
    # Only detections up to the last event of their class and area range are ever counted (an event's
    # count is of detections before it), so the ones after it are left out of the list: with hundreds
    # of low-scoring queries per image that is most of them, and the bootstrap sums this list per resample.
    last_event = np.full((n_k, n_a), -1, np.int64)
    np.maximum.at(last_event, (cls[pos].astype(np.int64), e_a.astype(np.int64)), pos)
    p_pos = [np.flatnonzero(inside[:, a] & (np.arange(n_v) <= last_event[cls.astype(np.int64), a]))
             for a in range(n_a)]
    p_offset = np.concatenate(([0], np.cumsum([x.size for x in p_pos])))
    p_all = np.concatenate(p_pos) if p_pos else np.zeros(0, np.int64)
    # one slot per (area range, detection) that some event refers to
    slot_keys, e_det = np.unique(e_a.astype(np.int64) * n_v + pos, return_inverse=True)
    slot_pos, slot_area = slot_keys % n_v, slot_keys // n_v
    slot_cin = np.empty(slot_keys.shape[0], np.int64)
    for a in range(n_a):
        sel = slot_area == a
        slot_cin[sel] = p_offset[a] + np.searchsorted(p_pos[a], slot_pos[sel], "right")

    col_ids = nonempty
    col_starts, col_lens = col_start[nonempty], (col_end - col_start)[nonempty]
    col_class = col_ids // (n_a * n_t)
    col_area = (col_ids // n_t) % n_a
    col_cin_lo = np.empty(col_ids.shape[0], np.int64)
    for a in range(n_a):
        sel = col_area == a
        col_cin_lo[sel] = p_offset[a] + np.searchsorted(p_pos[a], class_start[col_class[sel]], "left")

    e_rank = rank[pos]
    rank_masks = [(e_tp & (e_rank < limit)).astype(np.int32) for limit in max_dets[:-1]]

    counted = np.stack(
        [~records.gt_ignore & (records.gt_area >= lo) & (records.gt_area <= hi) for lo, hi in ranges], axis=1
    ) if records.gt_image.size else np.zeros((0, n_a), bool)
    g_idx, g_a = np.nonzero(counted)
    g_bin = records.gt_category[g_idx].astype(np.int64) * n_a + g_a
    gt_counts = sparse.csr_matrix(
        (np.ones(g_idx.size), (g_bin, records.gt_image[g_idx].astype(np.int64))), shape=(n_k * n_a, records.num_images)
    )
    return AccumulationPlan(
        num_images=records.num_images,
        num_classes=n_k,
        num_areas=n_a,
        num_thresholds=n_t,
        area_columns=cols,
        max_dets=tuple(max_dets),
        expanded=expanded,
        p_image=img[p_all],
        p_copy=copy[p_all],
        d_image=img[slot_pos],
        d_copy=copy[slot_pos],
        d_cin=slot_cin,
        e_det=e_det.astype(np.int64).reshape(-1),
        e_col=e_col,
        e_tp=e_tp.astype(np.int32),
        e_inside=inside[pos, e_a].astype(np.int32),
        e_rank_masks=rank_masks,
        col_ids=col_ids,
        col_starts=col_starts,
        col_lens=col_lens,
        col_last=col_starts + col_lens - 1,
        col_class_area=col_class * n_a + col_area,
        col_cin_lo=col_cin_lo,
        gt_counts=gt_counts,
    )


def _weights(w: np.ndarray, image: np.ndarray, copy: np.ndarray, expanded: bool) -> np.ndarray:
    """Weights of entries: their image's multiplicity, or 0/1 for an expanded per-copy entry."""
    out = w[..., image]  # one weighting (I,) or a batch of them (B, I)
    if expanded:
        out = np.where(copy == 0, out, (out >= copy).astype(out.dtype))
    return out


def _recall_reached(tp: np.ndarray, npig: np.ndarray) -> np.ndarray:
    """How many of COCO's recall thresholds r_j are <= tp / npig, as pycocotools' float comparison
    decides (0 <= tp <= npig, npig >= 1, both integers).

    floor(100 * tp / npig) is exact in floating point (a non-integer quotient is at least 1/npig
    away from an integer; an integer one is computed exactly), so only tp / npig == j / 100 needs
    pycocotools' own comparison r_j <= tp / npig: ten of its thresholds (0.35, 0.41, ...) sit one
    ulp above j / 100, so a recall of exactly 0.35 does not reach 0.35 there.
    """
    scaled = (100.0 * tp) / npig
    j = scaled.astype(np.int64)  # truncation = floor for non-negative values
    reached = j + 1
    tie = np.flatnonzero(scaled == j)
    if tie.size:
        reached[tie] -= _TIE_MISSES[j[tie]]
    return reached


def _accumulate_weightings(plan: AccumulationPlan, w: np.ndarray, all_max_dets: bool):
    """The shared core of `accumulate` and `accumulate_batch`, for weightings w (B, I).

    Returns (grid, found, npig): the interpolated precision (R, B, L) of the L columns that have events
    (`plan.col_ids`; every other column's is all zeros), true positives found per max-dets (B, M,
    columns; only the largest unless `all_max_dets`) and counted ground truth (B, K * A). Every figure
    of one weighting comes from the same operations whatever B is, so a batch gives the same bits."""
    # Counts are integers (exact; integer running sums are several times faster than float ones),
    # int32 when they cannot overflow (less memory traffic), else int64.
    w = np.asarray(w, dtype=np.int64)
    small = (plan.e_col.shape[0] + plan.p_image.shape[0]) * max(int(w.max(initial=0)), 1) < 2**31 - 1
    count = np.int32 if small else np.int64
    w = w.astype(count)
    n_b = w.shape[0]
    n_r = RECALL_THRESHOLDS.shape[0]
    n_cols = plan.num_classes * plan.num_areas * plan.num_thresholds
    n_e, n_live = plan.e_col.shape[0], plan.col_ids.shape[0]

    npig = np.rint((plan.gt_counts @ w.T).T).astype(np.int64)  # (B, K * A)
    # grid[u, b, c]: best precision in live column c among points reaching exactly n_r - u recall thresholds
    # (rows outermost, so each step of the running maximum below is one contiguous block)
    grid = np.zeros((n_r + 1, n_b, n_live))
    found = np.zeros((n_b, len(plan.max_dets), n_cols), np.int64)
    if n_e:
        lens = plan.col_lens
        cum_inside = np.zeros((n_b, plan.p_image.shape[0] + 1), count)
        np.cumsum(_weights(w, plan.p_image, plan.p_copy, plan.expanded), axis=1, out=cum_inside[:, 1:], dtype=count)
        slot_cin = cum_inside[:, plan.d_cin]
        cin = slot_cin[:, plan.e_det] - np.repeat(cum_inside[:, plan.col_cin_lo], lens, axis=1)
        we = _weights(w, plan.d_image, plan.d_copy, plan.expanded)[:, plan.e_det]
        tpw = we * plan.e_tp
        ctp = np.cumsum(tpw, axis=1, dtype=count)
        tp = ctp - np.repeat(ctp[:, plan.col_starts] - tpw[:, plan.col_starts], lens, axis=1)
        inw = we * plan.e_inside
        cmatched = np.cumsum(inw, axis=1, dtype=count)
        fp = cin - (cmatched - np.repeat(cmatched[:, plan.col_starts] - inw[:, plan.col_starts], lens, axis=1))
        pr = tp / (fp + tp + _EPS)
        pr *= tpw > 0  # only true positives present in this weighting are points
        npig_e = np.repeat(np.maximum(npig[:, plan.col_class_area], 1), lens, axis=1)  # no-gt columns masked later
        reached = _recall_reached(tp.reshape(-1), npig_e.reshape(-1)).reshape(n_b, n_e)
        live = np.repeat(np.arange(n_live, dtype=np.int64), lens)  # each event's column among the live ones
        key = ((n_r - reached) * (n_b * n_live) + (np.arange(n_b, dtype=np.int64) * n_live)[:, None] + live).reshape(-1)
        # Along a column the recall reached never falls, so the events of one grid cell are adjacent:
        # the best precision per cell is a maximum over runs (exactly what maximum.at would find).
        starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
        grid.reshape(-1)[key[starts]] = np.maximum.reduceat(pr.reshape(-1), starts)
        if all_max_dets:
            for m, mask in enumerate(plan.e_rank_masks):
                found[:, m, plan.col_ids] = np.add.reduceat(we * mask, plan.col_starts, axis=1)
        found[:, -1, plan.col_ids] = tp[:, plan.col_last]
    # Interpolated precision at threshold j: the best precision among points reaching more than j
    # thresholds, i.e. a running maximum down the grid's rows (row by row: vectorised over the rest).
    for u in range(1, n_r):
        np.maximum(grid[u - 1], grid[u], out=grid[u])
    return grid[:n_r], found, npig


def _recall(plan: AccumulationPlan, found: np.ndarray, npig: np.ndarray) -> np.ndarray:
    """found / counted ground truth, -1 where a class has none (pycocotools' convention)."""
    valid_cols = np.repeat(npig > 0, plan.num_thresholds, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(valid_cols[..., None, :], found / np.repeat(npig, plan.num_thresholds, axis=-1)[..., None, :],
                        -1.0)


def accumulate(plan: AccumulationPlan, image_weights: np.ndarray, all_max_dets: bool = True) -> Accumulated:
    """Precision and recall as pycocotools would compute them with each image repeated `weight` times.

    `all_max_dets=False` computes recall for the largest max-dets only (the others are left at -1).
    """
    n_k, n_a, n_t = plan.num_classes, plan.num_areas, plan.num_thresholds
    n_r = RECALL_THRESHOLDS.shape[0]
    live_grid, found, npig = _accumulate_weightings(plan, np.asarray(image_weights)[None, :], all_max_dets)
    grid = np.zeros((n_r, n_k * n_a * n_t))
    grid[:, plan.col_ids] = live_grid[:, 0]
    recall = _recall(plan, found[0], npig[0])
    if not all_max_dets:
        recall[:-1] = -1.0
    recall = recall.reshape(len(plan.max_dets), n_k, n_a, n_t).transpose(1, 2, 3, 0)
    ap_columns = grid.mean(axis=0).reshape(n_k, n_a, n_t)
    return Accumulated(grid=grid, recall=recall, npig=npig[0].reshape(n_k, n_a), ap_columns=ap_columns)


def coco_summary(acc: Accumulated, area_all: int, area_small: int, area_medium: int, area_large: int,
                 iou_thresholds: np.ndarray) -> np.ndarray:
    """The 12 numbers of `COCOeval.stats` (bbox), from accumulated arrays."""
    t50 = int(np.flatnonzero(np.isclose(iou_thresholds, 0.5))[0])
    t75 = int(np.flatnonzero(np.isclose(iou_thresholds, 0.75))[0])

    precision = acc.precision

    def ap(area, t=None):
        s = precision[:, area]
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


@dataclass
class BatchAccumulated:
    """`accumulate(..., all_max_dets=False)` for B weightings at once: AP per column (B, K, A, T), recall at
    the largest max-dets (B, K, A, T; -1 where a class has no counted ground truth) and counted ground
    truth (B, K, A)."""

    ap_columns: np.ndarray
    recall: np.ndarray
    npig: np.ndarray


def accumulate_batch(plan: AccumulationPlan, image_weights: np.ndarray) -> BatchAccumulated:
    """`accumulate(w, all_max_dets=False)` for a batch of weightings (B, I), vectorised over the batch:
    the same numbers, bit for bit (tests/eval/test_bootstrap_batch.py), as one call per weighting."""
    n_k, n_a, n_t = plan.num_classes, plan.num_areas, plan.num_thresholds
    live_grid, found, npig = _accumulate_weightings(plan, image_weights, all_max_dets=False)
    n_b = live_grid.shape[1]
    ap_columns = np.zeros((n_b, n_k * n_a * n_t))
    ap_columns[:, plan.col_ids] = live_grid.mean(axis=0)
    recall = _recall(plan, found[:, -1:], npig)[:, 0]
    return BatchAccumulated(ap_columns=ap_columns.reshape(n_b, n_k, n_a, n_t),
                            recall=recall.reshape(n_b, n_k, n_a, n_t), npig=npig.reshape(n_b, n_k, n_a))
