"""mPC and rPC (Michaelis et al. 2019)."""

from __future__ import annotations

import pytest

from gate.errors import InputError
from gate.eval import robustness


def test_mpc_is_the_mean_over_corruptions_of_the_mean_over_severities():
    result = robustness(0.5, {("fog", 1): 0.4, ("fog", 2): 0.2, ("rain", 1): 0.45})
    assert result.per_corruption == {"fog": pytest.approx(0.3), "rain": pytest.approx(0.45)}
    assert result.mpc == pytest.approx((0.3 + 0.45) / 2)
    assert result.rpc == pytest.approx(result.mpc / 0.5)
    assert result.per_suite["fog@2"] == 0.2


def test_rpc_is_undefined_for_a_zero_clean_score():
    assert robustness(0.0, {("fog", 1): 0.0}).rpc is None


def test_no_corruption_suites_is_an_input_error():
    with pytest.raises(InputError, match="at least one"):
        robustness(0.5, {})


def test_undefined_metric_on_a_corruption_suite_is_an_input_error():
    with pytest.raises(InputError, match="undefined on fog@1"):
        robustness(0.5, {("fog", 1): -1.0})
