"""The statistics behind a verdict: one test per rule and scope, error control across the family, power.

Each bootstrap-judged rule tests H0 "the candidate is within the allowed change" against H1 "it is
worse than allowed". With `w` the observed worsening (the delta in the metric's worse direction), `L`
the allowed worsening and `se` the standard deviation of the paired-bootstrap deltas, the one-sided
p-value is the normal tail `1 - Phi((w - L) / se)`. The bootstrap supplies the standard error; the
tail is normal because a family of ~200 rules under Holm needs p-values near 0.05 / 200, which 1,000
resamples cannot resolve empirically (their smallest p is 1 / 1001).

The minimum detectable change (MDC) is the true worsening beyond which a one-sided test at level
`alpha` rejects with probability `power`: `(z(1 - alpha) + z(power)) * se`. The standard error
shrinks as one over the square root of the sample, so a suite of `n` images would need
`n * (MDC / L) ** 2` images for its MDC to equal `L`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import Literal

import numpy as np

MultiplicityMethod = Literal["holm", "bh", "none"]
_NORMAL = NormalDist()


def bootstrap_se(resampled_deltas: Sequence[float] | np.ndarray) -> float | None:
    """Standard deviation (n - 1) of the valid resampled deltas; None with fewer than two."""
    values = np.asarray(resampled_deltas, dtype=np.float64)
    values = values[~np.isnan(values)]
    if values.size < 2:
        return None
    return float(np.std(values, ddof=1))


def se_from_interval(ci_low: float | None, ci_high: float | None, confidence: float) -> float | None:
    """The standard error a two-sided normal interval of this width implies (for rows that carry only a CI)."""
    if ci_low is None or ci_high is None:
        return None
    return float((ci_high - ci_low) / (2.0 * _NORMAL.inv_cdf(0.5 + confidence / 2.0)))


def p_value_beyond_allowed(worsening: float, allowed: float, se: float | None) -> float:
    """One-sided p-value of H0 "true worsening <= allowed" given the observed worsening and its SE.

    A zero (or missing) standard error makes the test exact: p is 0 when the worsening is beyond the
    allowed change and 1 otherwise.
    """
    if se is None or se <= 0.0 or not math.isfinite(se):
        return 0.0 if worsening > allowed else 1.0
    return float(1.0 - _NORMAL.cdf((worsening - allowed) / se))


def adjust_p_values(p_values: Sequence[float], method: MultiplicityMethod) -> list[float]:
    """Adjusted p-values in the input order: Holm's step-down (family-wise error), Benjamini-Hochberg
    (false-discovery rate) or none. A rule fails when its adjusted p-value is below alpha."""
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    if method == "none" or m == 0:
        return [float(v) for v in p]
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    if method == "holm":
        adjusted = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * ranked))
    elif method == "bh":
        scaled = ranked * m / np.arange(1, m + 1)
        adjusted = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    else:
        raise ValueError(f"unknown multiplicity method {method!r}")
    out = np.empty(m)
    out[order] = adjusted
    return [float(v) for v in out]


def per_test_alpha(alpha: float, method: MultiplicityMethod, family_size: int) -> float:
    """The level one lone regression must reach in its family: alpha / m under Holm and BH (their
    first step), alpha without control. Power and MDC are computed at this level."""
    if method == "none" or family_size <= 1:
        return alpha
    return alpha / family_size


def minimum_detectable_change(se: float | None, alpha: float, power: float) -> float | None:
    """The worsening a one-sided level-`alpha` test detects with probability `power`, at standard error `se`."""
    if se is None:
        return None
    return float((_NORMAL.inv_cdf(1.0 - alpha) + _NORMAL.inv_cdf(power)) * se)


def power_at(true_excess: float, se: float | None, alpha: float) -> float:
    """Probability that the test rejects when the true worsening exceeds the allowed one by `true_excess`."""
    if se is None or se <= 0.0:
        return 1.0 if true_excess > 0 else 0.0
    return float(_NORMAL.cdf(true_excess / se - _NORMAL.inv_cdf(1.0 - alpha)))


def sample_needed(current: int, mdc: float | None, allowed: float) -> int | None:
    """Images (or instances) needed for the MDC to shrink to the allowed change (SE ~ 1 / sqrt(n))."""
    if mdc is None or current <= 0:
        return None
    if allowed <= 0.0:
        return None  # no sample makes a zero allowed change detectable with certainty
    return int(math.ceil(current * (mdc / allowed) ** 2 - 1e-9))
