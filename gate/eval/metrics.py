"""Every metric as arrays, computed from match records for any multiset of images.

`MetricEngine(records, ...)` prepares once; `engine.compute(image_weights)` returns `MetricArrays`
for the dataset in which image i appears `image_weights[i]` times. Evaluation calls it once with
all ones; the paired bootstrap calls it once per resample.

Conventions (stated because they change numbers):
- AP and AR are COCO's (101-point interpolated precision, IoU 0.50:0.95, 100 detections per image
  and class), bit-for-bit pycocotools; a class without counted ground truth in a scope has no AP
  there (pycocotools' -1; NaN in these arrays) and is left out of every mean.
- the operating-point metrics (precision, recall, F1, false positives per image) use IoU 0.5 and
  every detection scoring >= the threshold (no 100-per-image cap); detections matched to ignore
  regions count neither way. Overall figures pool the counts of all classes (micro average).
  Precision without any detection and recall without any ground truth are undefined (NaN).
- per size bucket, a ground truth counts when its `area` is in the bucket and a false positive
  when the detection's box area is (COCO's rule for area ranges).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from gate.eval.accumulation import AccumulationPlan, Accumulated, accumulate, accumulate_batch, build_plan
from gate.eval.records import MatchRecords
from gate.eval.sizes import ALL_SIZES, SizeBucket


@dataclass
class MetricArrays:
    """Rows: classes 0..K-1, then K = all classes. Columns: 0 = all sizes, then the size buckets."""

    ap: np.ndarray
    ap50: np.ndarray
    ap75: np.ndarray
    ar1: np.ndarray
    ar10: np.ndarray
    ar100: np.ndarray
    precision_at_threshold: np.ndarray
    recall_at_threshold: np.ndarray
    f1_at_threshold: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    support: np.ndarray  # counted ground truths
    fp_per_image: float
    num_images: int
    confusion: np.ndarray  # (K + 1, K + 1) counts: rows gt class + background, cols predicted + background
    accumulated: Accumulated  # the pycocotools-shaped arrays behind the AP figures


@dataclass
class BatchMetrics:
    """What the bootstrap reads for B weightings at once: each array has the batch first, then the
    rows and columns of `MetricArrays` (AR@1 and AR@10 are not computed)."""

    ap: np.ndarray
    ap50: np.ndarray
    ap75: np.ndarray
    ar100: np.ndarray
    precision_at_threshold: np.ndarray
    recall_at_threshold: np.ndarray
    f1_at_threshold: np.ndarray
    support: np.ndarray
    fp_per_image: np.ndarray  # (B,)
    confusion: np.ndarray  # (B, K + 1, K + 1)


def _mean_valid(values: np.ndarray, valid: np.ndarray, axis: int) -> np.ndarray:
    """Mean over `axis` of `values` where `valid`, NaN where nothing is valid."""
    count = valid.sum(axis=axis)
    total = np.where(valid, values, 0.0).sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _count_matrix(bins: np.ndarray, images: np.ndarray, n_bins: int, n_images: int) -> sparse.csr_matrix:
    """(bins, images) sparse matrix of entry counts: counts for weights W are `matrix @ W.T`."""
    return sparse.csr_matrix((np.ones(bins.size), (bins, images)), shape=(n_bins, n_images))


class MetricEngine:
    """Prepared computation of all metrics for one record set, one threshold and one size scheme."""

    def __init__(
        self,
        records: MatchRecords,
        score_threshold: float,
        buckets: tuple[SizeBucket, ...],
        tie_copies: int = 1,
        extra_area_columns: tuple[int, ...] = (),
    ):
        self.records = records
        self.score_threshold = float(score_threshold)
        self.buckets = buckets
        bucket_cols = tuple(records.area_index(b.lo, b.hi) for b in (ALL_SIZES, *buckets))
        cols = list(bucket_cols)
        for c in extra_area_columns:
            if c not in cols:
                cols.append(c)
        self.plan_columns = tuple(cols)
        self.size_slots = np.array([self.plan_columns.index(c) for c in bucket_cols])  # plan slot per size column
        self.plan: AccumulationPlan = build_plan(records, self.plan_columns, tie_copies=tie_copies)
        self.t50 = records.iou_index(0.5)
        self.t75 = records.iou_index(0.75)
        self._prepare_threshold_counts()
        self._prepare_confusion()

    # ---- preparation ----------------------------------------------------------------------------
    def _prepare_threshold_counts(self) -> None:
        rec, n_s = self.records, self.size_slots.shape[0]
        n_bins, n_img = rec.num_categories * n_s, rec.num_images
        above = np.flatnonzero(rec.det_score >= self.score_threshold)
        size_cols = [self.plan_columns[s] for s in self.size_slots]
        tp = ((rec.det_tp[above][:, size_cols] >> self.t50) & 1).astype(bool)  # (n, S)
        ig = ((rec.det_ignored[above][:, size_cols] >> self.t50) & 1).astype(bool)
        fp = ~tp & ~ig
        k = rec.det_category[above].astype(np.int64)[:, None] * n_s + np.arange(n_s)[None, :]
        img = np.broadcast_to(rec.det_image[above].astype(np.int64)[:, None], tp.shape)
        tp_counts = _count_matrix(k[tp], img[tp], n_bins, n_img)
        fp_counts = _count_matrix(k[fp], img[fp], n_bins, n_img)
        counted = np.stack([rec.gt_counted(c) for c in size_cols], axis=1) if rec.gt_image.size else np.zeros((0, n_s), bool)
        g, s = np.nonzero(counted)
        gt_bins = rec.gt_category[g].astype(np.int64) * n_s + s
        gt_counts = _count_matrix(gt_bins, rec.gt_image[g].astype(np.int64), n_bins, n_img)
        self._count_parts = [tp_counts, fp_counts, gt_counts]

    def _prepare_confusion(self) -> None:
        rec, k = self.records, self.records.num_categories
        above = (rec.det_score >= self.score_threshold) & ~rec.det_in_ignore
        matched = rec.det_agnostic_gt >= 0
        det_rows = np.full(rec.num_detections, k, np.int64)
        det_rows[matched] = rec.gt_category[rec.det_agnostic_gt[matched]]
        cells_det = det_rows.astype(np.int64) * (k + 1) + rec.det_category
        gt_found = np.zeros(rec.gt_image.shape[0], bool)
        hit = above & matched
        gt_found[rec.det_agnostic_gt[hit]] = True
        missed = ~gt_found & ~rec.gt_ignore
        cells_gt = rec.gt_category[missed].astype(np.int64) * (k + 1) + k
        images = np.concatenate([rec.det_image[above], rec.gt_image[missed]]).astype(np.int64)
        cells = np.concatenate([cells_det[above], cells_gt])
        self._count_parts.append(_count_matrix(cells, images, (k + 1) ** 2, rec.num_images))
        # every count-type figure (tp, fp, gt per class and size, confusion cells) in one product
        self._counts = sparse.vstack(self._count_parts).tocsr()
        self._count_splits = np.cumsum([m.shape[0] for m in self._count_parts])[:-1]

    # ---- computation ----------------------------------------------------------------------------
    def compute(self, image_weights: np.ndarray | None = None, all_max_dets: bool = True) -> MetricArrays:
        """All metrics with image i counted `image_weights[i]` times (None: once each).

        `all_max_dets=False` (the bootstrap) skips AR@1 and AR@10 (left NaN).
        """
        rec = self.records
        n_k, n_s = rec.num_categories, self.size_slots.shape[0]
        w = np.ones(rec.num_images, np.int64) if image_weights is None else np.asarray(image_weights, np.int64)
        acc = accumulate(self.plan, w, all_max_dets=all_max_dets)
        slots = self.size_slots
        rec_ = acc.recall[:, slots]  # (K, S, T, M)
        valid = acc.npig[:, slots] > 0  # (K, S)

        def with_overall(per_class: np.ndarray) -> np.ndarray:
            per_class = np.where(valid, per_class, np.nan)
            return np.vstack([per_class, _mean_valid(per_class, valid, axis=0)[None, :]])

        ap_cols = acc.ap_columns[:, slots]  # (K, S, T): mean over recall thresholds
        ap = with_overall(ap_cols.mean(axis=2))
        ap50 = with_overall(ap_cols[:, :, self.t50])
        ap75 = with_overall(ap_cols[:, :, self.t75])
        ar = [with_overall(rec_[:, :, :, m].mean(axis=2)) for m in range(rec_.shape[3])]

        tp, fp, sup, conf = np.split(self._counts @ w, self._count_splits)
        tp, fp, sup = (x.reshape(n_k, n_s) for x in (tp, fp, sup))
        tp, fp, sup = (np.vstack([x, x.sum(axis=0, keepdims=True)]) for x in (tp, fp, sup))
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.where(tp + fp > 0, tp / (tp + fp), np.nan)
            recall = np.where(sup > 0, tp / sup, np.nan)
            f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
        f1 = np.where(np.isnan(precision) | np.isnan(recall), np.nan, f1)
        n_images = int(w.sum())
        return MetricArrays(
            ap=ap, ap50=ap50, ap75=ap75, ar1=ar[0], ar10=ar[1], ar100=ar[2],
            precision_at_threshold=precision, recall_at_threshold=recall, f1_at_threshold=f1,
            tp=tp, fp=fp, support=sup,
            fp_per_image=float(fp[n_k, 0] / n_images) if n_images else float("nan"),
            num_images=n_images,
            confusion=conf.reshape(n_k + 1, n_k + 1),
            accumulated=acc,
        )

    def compute_batch(self, image_weights: np.ndarray) -> BatchMetrics:
        """`compute(w, all_max_dets=False)` for a batch of weightings (B, I) at once, vectorised over the
        batch; the same numbers, bit for bit, as one `compute` per weighting."""
        rec = self.records
        n_k, n_s = rec.num_categories, self.size_slots.shape[0]
        w = np.asarray(image_weights, np.int64)
        n_b = w.shape[0]
        acc = accumulate_batch(self.plan, w)
        slots = self.size_slots
        valid = acc.npig[:, :, slots] > 0  # (B, K, S)

        def with_overall(per_class: np.ndarray) -> np.ndarray:
            per_class = np.where(valid, per_class, np.nan)
            return np.concatenate([per_class, _mean_valid(per_class, valid, axis=1)[:, None, :]], axis=1)

        ap_cols = acc.ap_columns[:, :, slots]  # (B, K, S, T)
        ap = with_overall(ap_cols.mean(axis=3))
        ap50 = with_overall(ap_cols[:, :, :, self.t50])
        ap75 = with_overall(ap_cols[:, :, :, self.t75])
        ar100 = with_overall(acc.recall[:, :, slots].mean(axis=3))

        counts = (self._counts @ w.T).T  # (B, rows)
        tp, fp, sup, conf = np.split(counts, self._count_splits, axis=1)
        tp, fp, sup = (x.reshape(n_b, n_k, n_s) for x in (tp, fp, sup))
        tp, fp, sup = (np.concatenate([x, x.sum(axis=1, keepdims=True)], axis=1) for x in (tp, fp, sup))
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.where(tp + fp > 0, tp / (tp + fp), np.nan)
            recall = np.where(sup > 0, tp / sup, np.nan)
            f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
        f1 = np.where(np.isnan(precision) | np.isnan(recall), np.nan, f1)
        n_images = w.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            fp_per_image = np.where(n_images > 0, fp[:, n_k, 0] / np.maximum(n_images, 1), np.nan)
        return BatchMetrics(
            ap=ap, ap50=ap50, ap75=ap75, ar100=ar100, precision_at_threshold=precision,
            recall_at_threshold=recall, f1_at_threshold=f1, support=sup, fp_per_image=fp_per_image,
            confusion=conf.reshape(n_b, n_k + 1, n_k + 1),
        )
