"""COCO matching, done once, into compact `MatchRecords`.

The rules are pycocotools' (`COCOeval.evaluateImg` for boxes), reproduced exactly:
- per image and class, detections in descending score order (stable: ties keep the input order);
- IoU as in pycocotools' `bbIou` (same floating-point operations); against an ignore region
  (crowd) the denominator is the detection's own area;
- at each IoU threshold t (0.50:0.05:0.95), a detection takes, among the ground truths it overlaps
  with IoU >= min(t, 1 - 1e-10) that are still free, the one with the highest IoU (on a tie, the
  later one in file order); counted ground truths are tried first, ground truths ignored for this
  area range (ignore regions, or boxes outside the range) only if no counted one fits; an ignore
  region can absorb any number of detections;
- a detection matched to an ignored ground truth is ignored, and so is an unmatched detection
  whose own area (w * h) is outside the area range.

Every detection is matched, also those past `max_dets` per image and class: matching is greedy in
score order, so the first `max_dets` get exactly the matches pycocotools gives them, and the AP
code later drops the rest while threshold metrics can still see them.

Beside the COCO matching, a class-agnostic greedy pass at IoU 0.5 (for the confusion matrix) and
the TIDE error type of every false positive are recorded. The work is vectorised over (pair of
image and class) x area range x IoU threshold, looping only over the detection's rank.
"""

from __future__ import annotations

import numpy as np

from gate.data.coco import CocoDataset
from gate.eval.groundtruth import GroundTruthArrays, ground_truth_arrays
from gate.eval.predictions import PredictionArrays, validate_predictions
from gate.eval.records import (
    TIDE_BKG,
    TIDE_BOTH,
    TIDE_CLS,
    TIDE_DUPE,
    TIDE_LOC,
    TIDE_NONE,
    MatchRecords,
)
from gate.eval.sizes import default_area_ranges

# Exactly pycocotools' Params.iouThrs.
COCO_IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
COCO_MAX_DETS = 100
TIDE_FOREGROUND_IOU = 0.5
TIDE_BACKGROUND_IOU = 0.1
CONFUSION_IOU = 0.5


def box_iou(det: np.ndarray, gt: np.ndarray, crowd: np.ndarray) -> np.ndarray:
    """IoU of boxes (xywh), broadcasting `det` (..., 4) against `gt` (..., 4); pycocotools' arithmetic.

    For a crowd ground truth the union is the detection's area alone.
    """
    dx, dy, dw, dh = det[..., 0], det[..., 1], det[..., 2], det[..., 3]
    gx, gy, gw, gh = gt[..., 0], gt[..., 1], gt[..., 2], gt[..., 3]
    w = np.minimum(dw + dx, gw + gx) - np.maximum(dx, gx)
    h = np.minimum(dh + dy, gh + gy) - np.maximum(dy, gy)
    overlap = (w > 0) & (h > 0)
    inter = w * h
    det_area = dw * dh
    union = np.where(crowd, det_area, det_area + gw * gh - inter)
    out = np.zeros(np.broadcast(inter, union).shape)
    np.divide(inter, union, out=out, where=overlap)
    return out


def _last_argmax(values: np.ndarray) -> np.ndarray:
    """Index of the maximum along the last axis, the last one on ties (pycocotools' `>=` update)."""
    n = values.shape[-1]
    return n - 1 - np.argmax(values[..., ::-1], axis=-1)


def _pack_bits(flags: np.ndarray) -> np.ndarray:
    """(..., T) bool -> (...) uint16 with bit t set where flags[..., t]."""
    weights = (1 << np.arange(flags.shape[-1], dtype=np.uint16)).astype(np.uint16)
    return (flags.astype(np.uint16) * weights).sum(axis=-1, dtype=np.uint16)


def _group_padding(counts: np.ndarray) -> np.ndarray:
    """Pad group sizes to powers of two so one vectorised pass handles groups of similar size."""
    pad = np.ones_like(counts)
    positive = counts > 0
    pad[positive] = 1 << np.ceil(np.log2(counts[positive])).astype(np.int64)
    pad[~positive] = 0
    return pad


def _ranks(keys: np.ndarray) -> np.ndarray:
    """Position of each element within its run of equal (sorted) keys."""
    n = keys.shape[0]
    if n == 0:
        return np.zeros(0, np.int32)
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    run = np.repeat(starts, np.diff(np.append(starts, n)))
    return (np.arange(n) - run).astype(np.int32)


def match_predictions(
    ground_truth: CocoDataset | GroundTruthArrays,
    predictions: PredictionArrays,
    *,
    area_ranges: tuple[tuple[float, float], ...] | None = None,
    max_dets: int = COCO_MAX_DETS,
    chunk_images: int = 4096,
) -> MatchRecords:
    """Match detections to ground truth once (COCO rules) and return the records every metric uses."""
    gt = ground_truth if isinstance(ground_truth, GroundTruthArrays) else ground_truth_arrays(ground_truth)
    validate_predictions(predictions, gt)
    ranges = np.array(area_ranges if area_ranges is not None else default_area_ranges(), dtype=np.float64).reshape(-1, 2)
    thresholds = COCO_IOU_THRESHOLDS.copy()
    num_k = gt.num_categories

    # Ground truth sorted by (image, class, file order); detections by (image, class, -score, input order).
    g_order = np.lexsort((np.arange(gt.image.shape[0]), gt.category, gt.image))
    g_img, g_cat = gt.image[g_order], gt.category[g_order]
    g_bbox, g_area, g_ign = gt.bbox[g_order], gt.area[g_order], gt.ignore[g_order]
    d_img_all = np.searchsorted(gt.image_ids, predictions.image_id).astype(np.int32)
    d_cat_all = np.searchsorted(gt.category_ids, predictions.category_id).astype(np.int32)
    n_det = len(predictions)
    d_order = np.lexsort((np.arange(n_det), -predictions.score, d_cat_all, d_img_all))
    d_img, d_cat = d_img_all[d_order], d_cat_all[d_order]
    d_score, d_bbox = predictions.score[d_order], predictions.bbox[d_order]
    d_rank = _ranks(d_img.astype(np.int64) * num_k + d_cat)

    n_a, n_t = ranges.shape[0], thresholds.shape[0]
    tp_bits = np.zeros((n_det, n_a), np.uint16)
    ig_bits = np.zeros((n_det, n_a), np.uint16)
    gt50 = np.full(n_det, -1, np.int32)
    agnostic_gt = np.full(n_det, -1, np.int32)
    in_ignore = np.zeros(n_det, bool)
    tide = np.zeros(n_det, np.int8)
    tide_gt = np.full(n_det, -1, np.int32)

    t50 = int(np.flatnonzero(np.isclose(thresholds, 0.5))[0])
    for start in range(0, gt.num_images, max(1, chunk_images)):
        stop = min(start + chunk_images, gt.num_images)
        ds = slice(*np.searchsorted(d_img, [start, stop]))
        gs = slice(*np.searchsorted(g_img, [start, stop]))
        if ds.stop == ds.start:
            continue
        chunk_gt = (g_img[gs], g_cat[gs], g_bbox[gs], g_area[gs], g_ign[gs])
        chunk_det = (d_img[ds], d_cat[ds], d_bbox[ds], d_rank[ds])
        tp, ig, m50 = _match_classwise(chunk_det, chunk_gt, ranges, thresholds, num_k, t50)
        tp_bits[ds], ig_bits[ds] = _pack_bits(tp), _pack_bits(ig)
        gt50[ds] = np.where(m50 >= 0, m50 + gs.start, -1)
        used = np.zeros(gs.stop - gs.start, bool)
        counted_tp = (m50 >= 0) & (d_rank[ds] < max_dets)
        used[m50[counted_tp]] = True
        is_fp = (d_rank[ds] < max_dets) & ~tp[:, 0, t50] & ~ig[:, 0, t50]
        agn, inside, code, code_gt = _match_agnostic(chunk_det, d_score[ds], chunk_gt, used, is_fp)
        agnostic_gt[ds] = np.where(agn >= 0, agn + gs.start, -1)
        in_ignore[ds] = inside
        tide[ds] = code
        tide_gt[ds] = np.where(code_gt >= 0, code_gt + gs.start, -1)

    return MatchRecords(
        gt_signature=gt.signature(),
        image_ids=gt.image_ids.copy(),
        category_ids=gt.category_ids.copy(),
        category_names=gt.category_names,
        area_ranges=ranges,
        iou_thresholds=thresholds,
        max_dets=int(max_dets),
        gt_image=g_img.astype(np.int32),
        gt_category=g_cat.astype(np.int32),
        gt_bbox=g_bbox,
        gt_area=g_area,
        gt_ignore=g_ign,
        gt_annotation_id=gt.annotation_id[g_order],
        det_image=d_img,
        det_category=d_cat,
        det_score=d_score,
        det_bbox=d_bbox,
        det_rank=d_rank,
        det_index=d_order.astype(np.int64),
        det_tp=tp_bits,
        det_ignored=ig_bits,
        det_gt50=gt50,
        det_agnostic_gt=agnostic_gt,
        det_in_ignore=in_ignore,
        det_tide=tide,
        det_tide_gt=tide_gt,
    )


def _match_classwise(det, gt, ranges, thresholds, num_k, t50):
    """COCO greedy matching for one chunk. Returns tp, ignored (n, A, T) bool and the 0.5/all match."""
    d_img, d_cat, d_bbox, d_rank = det
    g_img, g_cat, g_bbox, g_area, g_ign = gt
    n, n_a, n_t = d_img.shape[0], ranges.shape[0], thresholds.shape[0]
    tp = np.zeros((n, n_a, n_t), bool)
    igm = np.zeros((n, n_a, n_t), bool)
    m50 = np.full(n, -1, np.int64)

    d_key = d_img.astype(np.int64) * num_k + d_cat
    g_key = g_img.astype(np.int64) * num_k + g_cat
    g0 = np.searchsorted(g_key, d_key, "left")
    n_g = np.searchsorted(g_key, d_key, "right") - g0
    pad = _group_padding(n_g)
    thr = np.minimum(thresholds, 1 - 1e-10)
    lo, hi = ranges[:, 0], ranges[:, 1]
    g_outside = (g_area[:, None] < lo) | (g_area[:, None] > hi)  # (G, A)

    for width in np.unique(pad[pad > 0]):
        sel = np.flatnonzero(pad == width)  # detections, still sorted by (pair, rank)
        pair_keys, pair_of = np.unique(d_key[sel], return_inverse=True)
        first = np.searchsorted(d_key[sel], pair_keys)
        p_g0, p_ng = g0[sel][first], n_g[sel][first]
        cols = np.arange(width)
        p_valid = cols[None, :] < p_ng[:, None]  # (P, W)
        p_gidx = np.where(p_valid, p_g0[:, None] + cols[None, :], p_g0[:, None])
        p_crowd = g_ign[p_gidx]  # (P, W)
        p_ignored = p_crowd[:, None, :] | g_outside[p_gidx].transpose(0, 2, 1)  # (P, A, W)
        ious = box_iou(d_bbox[sel][:, None, :], g_bbox[p_gidx[pair_of]], p_crowd[pair_of])  # (S, W)
        taken = np.zeros((pair_keys.shape[0], n_a, n_t, width), bool)

        ranks = d_rank[sel]
        by_rank = np.argsort(ranks, kind="stable")
        bounds = np.searchsorted(ranks[by_rank], np.arange(int(ranks.max()) + 2))
        for r in range(bounds.shape[0] - 1):
            rows = by_rank[bounds[r] : bounds[r + 1]]
            if rows.size == 0:
                continue
            p = pair_of[rows]
            iou = ious[rows]  # (m, W)
            fits = (iou[:, None, :] >= thr[None, :, None]) & p_valid[p][:, None, :]  # (m, T, W)
            free = fits[:, None, :, :] & (~taken[p] | p_crowd[p][:, None, None, :])  # (m, A, T, W)
            ignored = p_ignored[p][:, :, None, :]
            counted = free & ~ignored
            spare = free & ignored
            iou4 = np.broadcast_to(iou[:, None, None, :], free.shape)
            has_counted = counted.any(-1)
            has_spare = spare.any(-1)
            pick = np.where(
                has_counted,
                _last_argmax(np.where(counted, iou4, -1.0)),
                _last_argmax(np.where(spare, iou4, -1.0)),
            )
            matched = has_counted | has_spare
            mi, ma, mt = np.nonzero(matched)
            taken[p[mi], ma, mt, pick[mi, ma, mt]] = True
            det_rows = sel[rows]
            tp[det_rows] = has_counted
            igm[det_rows] = matched & ~has_counted
            hit = has_counted[:, 0, t50]
            m50[det_rows[hit]] = p_gidx[p[hit], pick[hit, 0, t50]]

    d_area = d_bbox[:, 2] * d_bbox[:, 3]
    outside = (d_area[:, None] < lo) | (d_area[:, None] > hi)  # (n, A)
    ignored = igm | (~tp & outside[:, :, None])
    return tp, ignored, m50


def _match_agnostic(det, score, gt, used, is_fp):
    """Class-agnostic greedy match at IoU 0.5 (confusion) and TIDE error types of false positives."""
    d_img, d_cat, d_bbox, _ = det
    g_img, g_cat, g_bbox, _, g_ign = gt
    n = d_img.shape[0]
    agn = np.full(n, -1, np.int64)
    inside = np.zeros(n, bool)
    code = np.full(n, TIDE_NONE, np.int8)
    code_gt = np.full(n, -1, np.int64)

    # Detections of one image in descending score order across classes (stable on the input order,
    # which the class-wise order already encodes).
    order = np.lexsort((np.arange(n), -score, d_img))
    img_sorted = d_img[order]
    image_rank = _ranks(img_sorted.astype(np.int64))
    h0 = np.searchsorted(g_img, d_img, "left")
    h_n = np.searchsorted(g_img, d_img, "right") - h0
    pad = _group_padding(h_n)

    code[is_fp & (h_n == 0)] = TIDE_BKG  # nothing to be confused with: background
    for width in np.unique(pad[pad > 0]):
        sel_mask = pad == width
        sel = order[sel_mask[order]]  # detections of these images, by (image, score rank)
        ranks = image_rank[sel_mask[order]]
        img_keys, img_of = np.unique(d_img[sel], return_inverse=True)
        first = np.searchsorted(d_img[sel], img_keys)
        i_h0, i_n = h0[sel][first], h_n[sel][first]
        cols = np.arange(width)
        i_valid = cols[None, :] < i_n[:, None]
        i_gidx = np.where(i_valid, i_h0[:, None] + cols[None, :], i_h0[:, None])
        crowd = g_ign[i_gidx[img_of]]  # (S, W)
        valid = i_valid[img_of]
        ious = box_iou(d_bbox[sel][:, None, :], g_bbox[i_gidx[img_of]], crowd)
        real = valid & ~crowd
        same = real & (g_cat[i_gidx[img_of]] == d_cat[sel][:, None])

        # TIDE (Bolya et al. 2020) for false positives, in the reference toolbox's order of tests.
        fp_rows = np.flatnonzero(is_fp[sel])
        if fp_rows.size:
            iou = ious[fp_rows]
            s_same, s_real = same[fp_rows], real[fp_rows]
            s_used = s_same & used[i_gidx[img_of[fp_rows]]]
            other = s_real & ~s_same

            def best(mask):
                masked = np.where(mask, iou, -1.0)
                idx = np.argmax(masked, axis=1)
                return masked[np.arange(idx.size), idx], idx

            same_iou, same_idx = best(s_same)
            other_iou, other_idx = best(other)
            used_iou, used_idx = best(s_used)
            any_iou, any_idx = best(s_real)
            has_real = s_real.any(axis=1)
            c = np.full(fp_rows.size, TIDE_BOTH, np.int8)
            target = any_idx.copy()
            rules = [
                (~has_real, TIDE_BKG, any_idx),
                ((same_iou >= TIDE_BACKGROUND_IOU) & (same_iou < TIDE_FOREGROUND_IOU), TIDE_LOC, same_idx),
                (other_iou >= TIDE_FOREGROUND_IOU, TIDE_CLS, other_idx),
                (used_iou >= TIDE_FOREGROUND_IOU, TIDE_DUPE, used_idx),
                (any_iou <= TIDE_BACKGROUND_IOU, TIDE_BKG, any_idx),
            ]
            decided = np.zeros(fp_rows.size, bool)
            for cond, value, idx in rules:
                now = cond & ~decided
                c[now] = value
                target[now] = idx[now]
                decided |= now
            det_rows = sel[fp_rows]
            code[det_rows] = c
            gidx = i_gidx[img_of[fp_rows], target]
            code_gt[det_rows] = np.where(c == TIDE_BKG, -1, gidx)

        # Greedy class-agnostic matching in score order, one lane per image.
        taken = np.zeros((img_keys.shape[0], width), bool)
        by_rank = np.argsort(ranks, kind="stable")
        bounds = np.searchsorted(ranks[by_rank], np.arange(int(ranks.max()) + 2))
        for r in range(bounds.shape[0] - 1):
            rows = by_rank[bounds[r] : bounds[r + 1]]
            if rows.size == 0:
                continue
            im = img_of[rows]
            iou = ious[rows]
            free = real[rows] & ~taken[im] & (iou >= CONFUSION_IOU)
            has = free.any(axis=1)
            pick = _last_argmax(np.where(free, iou, -1.0))
            taken[im[has], pick[has]] = True
            det_rows = sel[rows]
            agn[det_rows[has]] = i_gidx[im[has], pick[has]]
            crowd_hit = (crowd[rows] & valid[rows] & (iou >= CONFUSION_IOU)).any(axis=1)
            inside[det_rows[~has & crowd_hit]] = True
    return agn, inside, code, code_gt
