"""Paired image bootstrap: how sure is a metric delta between a candidate and a baseline?

Both record sets must come from the same ground truth (same `gt_signature`). Each resample draws
N image indices with replacement (N = number of images; one seeded draw per resample, shared by
candidate and baseline, so the comparison is paired), and every metric of both models is computed
on that resampled dataset from the match records, without re-matching. An image drawn twice counts
as two images, exactly as pycocotools would count a dataset holding two copies of it (see
gate.eval.accumulation for why the numbers are identical).

For each metric and scope (overall, per class, per size bucket, optionally class x size, and the
class-to-class confusion rates seen in either model) the result holds the point values on the full
dataset, delta = candidate - baseline, the percentile confidence interval of the resampled deltas,
and a one-sided p-value that the candidate is worse (defined on `MetricDelta`). Resamples in which
a figure is undefined (for example a class drawn without any ground truth) are left out of that
figure's interval; `valid_resamples` says how many remained. Rows scoped to a class or size bucket
with fewer than `min_support` counted ground truths are marked "insufficient_support": reported,
never to be passed or failed on.
"""

from __future__ import annotations

import warnings

import numpy as np

from gate.errors import InputError, RefusedError
from gate.eval.accumulation import RECALL_THRESHOLDS, within_image_ties
from gate.eval.metrics import BatchMetrics, MetricArrays, MetricEngine
from gate.eval.records import MatchRecords
from gate.eval.registry import EVAL_METRICS
from gate.eval.results import BootstrapComparison, MetricDelta
from gate.eval.sizes import DEFAULT_SIZE_SCHEME, size_scheme

# AR@1 and AR@10 are evaluated but not bootstrapped: no gate rule reads them.
GRID_METRICS = (
    "ap", "ap50", "ap75", "ar100",
    "precision_at_threshold", "recall_at_threshold", "f1_at_threshold",
)


class _RowLayout:
    """Which (metric, class, size) rows are reported, and how to read them from `MetricArrays`."""

    def __init__(self, records: MatchRecords, bucket_names: tuple[str, ...], class_by_size: bool,
                 confusion_pairs: list[tuple[int, int]]):
        n_k, n_s = records.num_categories, len(bucket_names) + 1
        self.rows: list[tuple[str, int | None, int | None]] = []  # metric, class (None=all), size slot (None=all)
        grid_idx: list[int] = []
        for mi, metric in enumerate(GRID_METRICS):
            cells = [(None, None)] + [(k, None) for k in range(n_k)] + [(None, s) for s in range(1, n_s)]
            if class_by_size:
                cells += [(k, s) for k in range(n_k) for s in range(1, n_s)]
            for k, s in cells:
                self.rows.append((metric, k, s))
                grid_idx.append((mi * (n_k + 1) + (n_k if k is None else k)) * n_s + (0 if s is None else s))
        self.grid_idx = np.array(grid_idx, dtype=np.int64)
        self.rows.append(("fp_per_image", None, None))
        self.pairs = confusion_pairs
        for i, j in confusion_pairs:
            self.rows.append(("confusion", i, j))
        self.pair_rows = np.array([i for i, _ in confusion_pairs], dtype=np.int64)
        self.pair_cols = np.array([j for _, j in confusion_pairs], dtype=np.int64)

    def vector(self, m: MetricArrays) -> np.ndarray:
        """The reported rows' values, in row order."""
        grid = np.stack([getattr(m, name) for name in GRID_METRICS]).reshape(-1)
        conf = m.confusion
        support = conf[self.pair_rows].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            rates = np.where(support > 0, conf[self.pair_rows, self.pair_cols] / support, np.nan)
        return np.concatenate([grid[self.grid_idx], [m.fp_per_image], rates])

    def vector_batch(self, m: BatchMetrics) -> np.ndarray:
        """`vector` for a batch: (B, rows)."""
        n_b = m.fp_per_image.shape[0]
        grid = np.stack([getattr(m, name) for name in GRID_METRICS], axis=1).reshape(n_b, -1)
        conf = m.confusion
        support = conf[:, self.pair_rows].sum(axis=2)
        with np.errstate(invalid="ignore", divide="ignore"):
            rates = np.where(support > 0, conf[:, self.pair_rows, self.pair_cols] / support, np.nan)
        return np.concatenate([grid[:, self.grid_idx], m.fp_per_image[:, None], rates], axis=1)

    def supports(self, m: MetricArrays) -> np.ndarray:
        """Counted ground truths behind each row."""
        n_k = m.support.shape[0] - 1
        out = []
        for metric, k, s in self.rows:
            if metric == "confusion":
                out.append(m.support[k, 0])
            elif metric == "fp_per_image":
                out.append(m.support[n_k, 0])
            else:
                out.append(m.support[n_k if k is None else k, 0 if s is None else s])
        return np.array(out, dtype=np.int64)


# Weightings per vectorised batch: the precision grid of a batch stays near 8 MB (measured best at 2^19-2^20 cells).
BATCH_GRID_ELEMENTS = 1 << 20


def batch_size(engine: MetricEngine, resamples: int) -> int:
    columns = max(1, engine.plan.col_ids.shape[0])
    return max(1, min(resamples, BATCH_GRID_ELEMENTS // ((RECALL_THRESHOLDS.shape[0] + 1) * columns)))


class _Resampler:
    """The resampled deltas of one comparison, for any contiguous range of resample indices."""

    def __init__(self, cand_engine: MetricEngine, base_engine: MetricEngine, layout: _RowLayout, num_images: int,
                 seed: int, step: int):
        self.cand_engine, self.base_engine, self.layout = cand_engine, base_engine, layout
        self.num_images, self.seed, self.step = num_images, seed, step

    def deltas(self, start: int, stop: int) -> np.ndarray:
        """Rows `start`..`stop - 1` of the deltas; draws before `start` are taken and discarded, so resample
        i is the same weighting wherever the range begins."""
        draws = iter_resample_weights(self.num_images, stop, self.seed)
        for _ in range(start):
            next(draws)
        out = np.empty((stop - start, len(self.layout.rows)))
        # Resamples in batches, each computed at once for all its weightings (bit-identical to one at a time).
        for first in range(start, stop, self.step):
            weights = np.stack([next(draws) for _ in range(min(self.step, stop - first))])
            out[first - start:first - start + weights.shape[0]] = (
                self.layout.vector_batch(self.cand_engine.compute_batch(weights))
                - self.layout.vector_batch(self.base_engine.compute_batch(weights)))
        return out

    def deltas_in_parallel(self, resamples: int, workers: int) -> np.ndarray:
        """All rows, split into `workers` contiguous ranges run in forked processes (they inherit this
        object, so nothing but the result arrays is pickled); in this process when one worker is asked or
        the platform cannot fork."""
        from gate.machine import fork_map

        workers = max(1, min(workers, resamples // max(self.step, 1)))
        if workers == 1:
            return self.deltas(0, resamples)
        edges = [round(resamples * k / workers) for k in range(workers + 1)]
        _FORKED["resampler"] = self
        try:
            parts = fork_map(_forked_deltas, list(zip(edges[:-1], edges[1:])), workers)
        finally:
            _FORKED.pop("resampler", None)
        return np.concatenate(parts)


_FORKED: dict[str, _Resampler] = {}  # what forked workers inherit (set only while a pool runs)


def _forked_deltas(bounds: tuple[int, int]) -> np.ndarray:
    return _FORKED["resampler"].deltas(*bounds)


def iter_resample_weights(num_images: int, resamples: int, seed: int):
    """The resampled image multiplicities, one array per resample (a fixed function of the seed)."""
    rng = np.random.default_rng(seed)
    for _ in range(resamples):
        yield np.bincount(rng.integers(0, num_images, size=num_images), minlength=num_images)


def resample_weights(num_images: int, resamples: int, seed: int) -> list[np.ndarray]:
    """All resamples' image multiplicities (for tests and for reproducing one resample by hand)."""
    return list(iter_resample_weights(num_images, resamples, seed))


def paired_bootstrap(
    candidate: MatchRecords,
    baseline: MatchRecords,
    *,
    candidate_threshold: float = 0.5,
    baseline_threshold: float | None = None,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    min_support: int = 10,
    size_buckets: str = DEFAULT_SIZE_SCHEME,
    class_by_size: bool = False,
    confusion: bool = True,
    workers: int = 1,
) -> BootstrapComparison:
    """Deltas (candidate - baseline) with percentile CIs for every metric and scope.

    `workers` > 1 splits the resamples into that many contiguous ranges computed in forked processes;
    every resample's numbers are the same whichever process computes them."""
    if candidate.gt_signature != baseline.gt_signature:
        raise RefusedError("candidate and baseline were evaluated on different ground truth (gt signatures differ)")
    if resamples < 1:
        raise InputError(f"resamples must be >= 1, got {resamples}")
    if not 0.0 < confidence < 1.0:
        raise InputError(f"confidence must be between 0 and 1, got {confidence}")
    baseline_threshold = candidate_threshold if baseline_threshold is None else baseline_threshold
    buckets = size_scheme(size_buckets)
    n = candidate.num_images
    if n == 0:
        raise InputError("no images to resample")

    tie_copies = 1
    if within_image_ties(candidate) or within_image_ties(baseline):
        tie_copies = max(int(w.max()) for w in iter_resample_weights(n, resamples, seed))
    cand_engine = MetricEngine(candidate, candidate_threshold, buckets, tie_copies=tie_copies)
    base_engine = MetricEngine(baseline, baseline_threshold, buckets, tie_copies=tie_copies)
    cand_full, base_full = cand_engine.compute(), base_engine.compute()

    pairs: list[tuple[int, int]] = []
    if confusion:
        k = candidate.num_categories
        seen = (cand_full.confusion[:k, :k] > 0) | (base_full.confusion[:k, :k] > 0)
        np.fill_diagonal(seen, False)
        pairs = [(int(i), int(j)) for i, j in zip(*np.nonzero(seen))]
    layout = _RowLayout(candidate, tuple(b.name for b in buckets), class_by_size, pairs)

    cand_value, base_value = layout.vector(cand_full), layout.vector(base_full)
    support = layout.supports(cand_full)
    resampler = _Resampler(cand_engine, base_engine, layout, n, seed,
                           min(batch_size(cand_engine, resamples), batch_size(base_engine, resamples)))
    deltas = resampler.deltas_in_parallel(resamples, workers)

    valid = ~np.isnan(deltas)
    n_valid = valid.sum(axis=0)
    alpha = (1.0 - confidence) / 2.0
    with warnings.catch_warnings():  # all-NaN columns warn; they are reported as undefined instead
        warnings.simplefilter("ignore", RuntimeWarning)
        ci_low, ci_high = np.nanquantile(deltas, [alpha, 1.0 - alpha], axis=0)
        se = np.nanstd(deltas, axis=0, ddof=1)
    higher = np.array([EVAL_METRICS[metric].higher_is_better for metric, _, _ in layout.rows])
    not_worse = np.where(higher[None, :], deltas >= 0, deltas <= 0) & valid
    p_worse = (1.0 + not_worse.sum(axis=0)) / (1.0 + n_valid)

    names = candidate.category_names
    bucket_names = ("all", *(bucket.name for bucket in buckets))
    out: list[MetricDelta] = []
    for r, (metric, k, s) in enumerate(layout.rows):
        if metric == "confusion":
            class_name, category_id, size = f"{names[k]}->{names[s]}", int(candidate.category_ids[k]), None
        else:
            class_name = None if k is None else names[k]
            category_id = None if k is None else int(candidate.category_ids[k])
            size = None if s is None else bucket_names[s]
        cv, bv = float(cand_value[r]), float(base_value[r])
        defined = not (np.isnan(cv) or np.isnan(bv)) and n_valid[r] > 0
        scoped = class_name is not None or size is not None
        if scoped and support[r] < min_support:
            status = "insufficient_support"
        elif not defined:
            status = "undefined"
        else:
            status = "ok"
        out.append(
            MetricDelta(
                metric=metric, class_name=class_name, category_id=category_id, size=size,
                higher_is_better=bool(higher[r]),
                value_candidate=None if np.isnan(cv) else cv,
                value_baseline=None if np.isnan(bv) else bv,
                delta=None if np.isnan(cv) or np.isnan(bv) else cv - bv,
                ci_low=float(ci_low[r]) if n_valid[r] else None,
                ci_high=float(ci_high[r]) if n_valid[r] else None,
                p_worse=float(p_worse[r]) if n_valid[r] else None,
                se=float(se[r]) if n_valid[r] > 1 else None,
                support=int(support[r]),
                status=status,
                valid_resamples=int(n_valid[r]),
            )
        )
    return BootstrapComparison(
        gt_signature=candidate.gt_signature,
        num_images=n,
        resamples=resamples,
        confidence=confidence,
        seed=seed,
        min_support=min_support,
        size_scheme=size_buckets,
        candidate_threshold=float(candidate_threshold),
        baseline_threshold=float(baseline_threshold),
        deltas=out,
    )

