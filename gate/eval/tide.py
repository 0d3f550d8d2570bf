"""TIDE error breakdown (Bolya, Foley, Hays, Hoffman: "TIDE: A General Toolbox for Identifying
Object Detection Errors", ECCV 2020), implemented on tsrgate's COCO matching at IoU 0.5.

Every false positive (an AP-relevant detection, i.e. within the 100 per image and class, that is
neither a true positive nor ignored at IoU 0.5, area "all") gets one error type. With IoU_same the
best IoU with a ground truth of the detection's class, IoU_other with another class, t_f = 0.5 and
t_b = 0.1, the tests run in this order (the order of the authors' toolbox; the paper's definitions
overlap and it settles them):
1. background ("bkg") if the image has no counted ground truth at all;
2. localisation ("loc"): t_b <= IoU_same < t_f;
3. classification ("cls"): IoU_other >= t_f;
4. duplicate ("dupe"): IoU_same >= t_f with a ground truth already taken by a higher-scoring detection;
5. background ("bkg"): the best IoU with any ground truth <= t_b;
6. both ("both"): anything else (t_b < IoU_other < t_f with no fit of the right class).
A counted ground truth that no detection took and that is not the (untaken) target of a cls or loc
error is "missed".

The AP50 each fix would gain (a "delta AP50") follows the paper's oracles, one error type at a time:
cls: the detection gets its target's class and becomes a true positive, unless the target is already
taken (then it is removed); loc: the detection becomes a true positive for its target under the same
rule; of several errors of one type aiming at one ground truth only the highest-scoring one is fixed
and the rest are removed (the toolbox shares this choice between cls and loc; here each type is
fixed alone); dupe, bkg and both: the detection is removed; missed: those ground truths are removed
from the count. The two special rows remove all false positives, or all unmatched ground truth.
AP50 here is COCO's (101-point, mean over classes with ground truth), so the base value equals
the evaluation's AP50.
"""

from __future__ import annotations

import numpy as np

from gate.eval.accumulation import RECALL_THRESHOLDS
from gate.eval.records import TIDE_BKG, TIDE_BOTH, TIDE_CLS, TIDE_DUPE, TIDE_LOC, MatchRecords
from gate.eval.results import TideBreakdown

ERROR_NAMES = {
    TIDE_CLS: "cls",
    TIDE_LOC: "loc",
    TIDE_BOTH: "both",
    TIDE_DUPE: "dupe",
    TIDE_BKG: "bkg",
}
ERROR_ORDER = ("cls", "loc", "both", "dupe", "bkg", "missed")
_EPS = np.spacing(1)


def ap_per_class(cls, score, image, rank, is_tp, npig) -> np.ndarray:
    """COCO 101-point AP of scored points per class (pycocotools' sort and interpolation); NaN without gt."""
    n_k = npig.shape[0]
    out = np.full(n_k, np.nan)
    order = np.lexsort((rank, image, -score, cls))
    cls_s, tp_s = cls[order], is_tp[order]
    starts = np.searchsorted(cls_s, np.arange(n_k + 1))
    for k in range(n_k):
        if npig[k] <= 0:
            continue
        t = tp_s[starts[k] : starts[k + 1]]
        if t.size == 0:
            out[k] = 0.0
            continue
        tp = np.cumsum(t).astype(np.float64)
        fp = np.cumsum(~t).astype(np.float64)
        rc = tp / npig[k]
        pr = tp / (fp + tp + _EPS)
        pr = np.maximum.accumulate(pr[::-1])[::-1]
        idx = np.searchsorted(rc, RECALL_THRESHOLDS, side="left")
        q = np.where(idx < pr.size, pr[np.minimum(idx, pr.size - 1)], 0.0)
        out[k] = q.mean()
    return out


def _mean(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else -1.0


def tide_breakdown(records: MatchRecords, score_threshold: float) -> TideBreakdown:
    """Error counts and the AP50 gained by fixing each error type (see the module docstring)."""
    t50 = records.iou_index(0.5)
    n_k = records.num_categories
    keep = records.det_rank < records.max_dets
    tp = records.tp_flags(0, t50) & keep
    fp = keep & ~tp & ~records.ignored_flags(0, t50)
    counted = ~records.gt_ignore
    npig = np.bincount(records.gt_category[counted], minlength=n_k).astype(np.int64)
    code = np.where(fp, records.det_tide, 0)
    target = records.det_tide_gt

    points = np.flatnonzero(tp | fp)
    cls, score = records.det_category.astype(np.int64), records.det_score
    image, rank = records.det_image, records.det_rank

    def ap_of(idx: np.ndarray, classes: np.ndarray, positive: np.ndarray, gt_counts: np.ndarray) -> float:
        return _mean(ap_per_class(classes, score[idx], image[idx], rank[idx], positive, gt_counts))

    base = ap_of(points, cls[points], tp[points], npig)

    def counts_for(selected: np.ndarray) -> dict[str, int]:
        used = np.zeros(records.gt_image.shape[0], bool)
        used[records.det_gt50[tp & selected]] = True
        out = {name: int(np.count_nonzero(selected & (code == c))) for c, name in ERROR_NAMES.items()}
        fixable = selected & np.isin(code, (TIDE_CLS, TIDE_LOC)) & (target >= 0)
        usable = np.zeros_like(used)
        usable[target[fixable][~used[target[fixable]]]] = True
        out["missed"] = int(np.count_nonzero(counted & ~used & ~usable))
        return out

    used_all = np.zeros(records.gt_image.shape[0], bool)
    used_all[records.det_gt50[tp]] = True

    def fix_promote(error_code: int, take_gt_class: bool) -> float:
        err = np.flatnonzero(code == error_code)
        free = err[(target[err] >= 0) & ~used_all[np.maximum(target[err], 0)]]
        # highest-scoring error per target ground truth; ties by image then rank (COCO's order)
        order = np.lexsort((rank[free], image[free], -score[free], target[free]))
        firsts = free[order][np.concatenate(([True], np.diff(target[free][order]) != 0))] if free.size else free
        keep_pts = points[~np.isin(points, err)]
        idx = np.concatenate([keep_pts, firsts])
        classes = cls[idx].copy()
        if take_gt_class and firsts.size:
            classes[keep_pts.size :] = records.gt_category[target[firsts]]
        positive = np.concatenate([tp[keep_pts], np.ones(firsts.size, bool)])
        return ap_of(idx, classes, positive, npig)

    def fix_remove(error_code: int) -> float:
        idx = points[code[points] != error_code]
        return ap_of(idx, cls[idx], tp[idx], npig)

    all_counts = counts_for(keep)
    missed_gt = counted & ~used_all
    fixable = np.isin(code, (TIDE_CLS, TIDE_LOC)) & (target >= 0)
    usable = np.zeros_like(used_all)
    usable[target[fixable][~used_all[target[fixable]]]] = True
    missed_gt &= ~usable
    npig_missed = npig - np.bincount(records.gt_category[missed_gt], minlength=n_k)

    delta = {
        "cls": fix_promote(TIDE_CLS, True) - base,
        "loc": fix_promote(TIDE_LOC, False) - base,
        "both": fix_remove(TIDE_BOTH) - base,
        "dupe": fix_remove(TIDE_DUPE) - base,
        "bkg": fix_remove(TIDE_BKG) - base,
        "missed": ap_of(points, cls[points], tp[points], npig_missed) - base,
    }
    only_tp = points[tp[points]]
    no_fp = ap_of(only_tp, cls[only_tp], tp[only_tp], npig)
    npig_found = np.bincount(records.gt_category[used_all], minlength=n_k)
    no_fn = ap_of(points, cls[points], tp[points], np.where(npig > 0, npig_found, 0))
    return TideBreakdown(
        ap50=base,
        counts=all_counts,
        counts_at_threshold=counts_for(keep & (score >= score_threshold)),
        delta_ap50={k: float(v) for k, v in delta.items()},
        delta_ap50_false_positives=float(no_fp - base),
        delta_ap50_false_negatives=float(no_fn - base),
    )
