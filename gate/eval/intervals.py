"""Bootstrap confidence intervals of one model's metrics (no comparison): how sure is the AP50 of a
class or size bucket on one suite? Used to set two suites side by side (a German model on GTSDB and on
Italy), where a paired bootstrap does not apply because the images differ.

Images are resampled with replacement exactly as in the paired bootstrap (`gate.eval.bootstrap`), and
every figure is recomputed from the match records; the interval is the percentile interval of the
resampled values, leaving out resamples where the figure is undefined (no ground truth drawn).
"""

from __future__ import annotations

import warnings

import numpy as np
from pydantic import BaseModel

from gate.eval.accumulation import within_image_ties
from gate.eval.bootstrap import iter_resample_weights
from gate.eval.metrics import MetricEngine
from gate.eval.records import MatchRecords
from gate.eval.sizes import DEFAULT_SIZE_SCHEME, size_scheme


class MetricInterval(BaseModel):
    """One figure on one record set: the value on all images and its bootstrap percentile interval."""

    metric: str
    class_name: str | None = None  # None: every class
    size: str | None = None  # None: every size
    value: float | None = None  # None: undefined (no ground truth)
    ci_low: float | None = None
    ci_high: float | None = None
    support: int = 0  # ground truths counted


def metric_intervals(records: MatchRecords, *, metrics: tuple[str, ...] = ("ap", "ap50"), resamples: int = 1000,
                     confidence: float = 0.95, seed: int = 0, score_threshold: float = 0.5,
                     size_buckets: str = DEFAULT_SIZE_SCHEME) -> list[MetricInterval]:
    """Every metric overall, per class and per size bucket, with its percentile CI."""
    buckets = size_scheme(size_buckets)
    tie_copies = 1
    if within_image_ties(records):
        tie_copies = max(int(w.max()) for w in iter_resample_weights(records.num_images, resamples, seed))
    engine = MetricEngine(records, score_threshold, buckets, tie_copies=tie_copies)
    full = engine.compute()
    n_k = records.num_categories
    cells = [(n_k, 0)] + [(k, 0) for k in range(n_k)] + [(n_k, s) for s in range(1, len(buckets) + 1)]
    draws = np.empty((resamples, len(metrics), len(cells)))
    for b, weights in enumerate(iter_resample_weights(records.num_images, resamples, seed)):
        resampled = engine.compute(weights, all_max_dets=False)
        for m, metric in enumerate(metrics):
            grid = getattr(resampled, metric)
            draws[b, m] = [grid[k, s] for k, s in cells]
    alpha = (1.0 - confidence) / 2.0
    with warnings.catch_warnings():  # all-NaN columns (a bucket without ground truth) stay undefined
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanquantile(draws, [alpha, 1.0 - alpha], axis=0)
    names = records.category_names
    out = []
    for m, metric in enumerate(metrics):
        grid = getattr(full, metric)
        for c, (k, s) in enumerate(cells):
            value = float(grid[k, s])
            defined = not np.isnan(value) and value >= 0
            out.append(MetricInterval(
                metric=metric, class_name=None if k == n_k else names[k], size=None if s == 0 else buckets[s - 1].name,
                value=value if defined else None, ci_low=float(low[m, c]) if defined else None,
                ci_high=float(high[m, c]) if defined else None, support=int(full.support[k, s])))
    return out
