"""Each statistic of a verdict against a case worked out by hand."""

import math

import pytest

from gate.policy.stats import (
    adjust_p_values, bootstrap_se, minimum_detectable_change, p_value_beyond_allowed, per_test_alpha, power_at,
    sample_needed, se_from_interval,
)


def test_holm_adjustment_hand_computed():
    # sorted: 0.005, 0.01, 0.03, 0.04 -> 4*0.005=0.02, 3*0.01=0.03, 2*0.03=0.06, 1*0.04=0.04 -> running max
    adjusted = adjust_p_values([0.01, 0.04, 0.03, 0.005], "holm")
    assert adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_benjamini_hochberg_adjustment_hand_computed():
    # sorted p * m / rank: 0.02, 0.02, 0.04, 0.04 -> running min from the top
    adjusted = adjust_p_values([0.01, 0.04, 0.03, 0.005], "bh")
    assert adjusted == pytest.approx([0.02, 0.04, 0.04, 0.02])
    # the running minimum matters: 0.04 * 3 / 2 = 0.06 is lowered to 0.045 * 3 / 3
    assert adjust_p_values([0.001, 0.04, 0.045], "bh") == pytest.approx([0.003, 0.045, 0.045])


def test_no_adjustment_and_caps():
    assert adjust_p_values([0.2, 0.01], "none") == [0.2, 0.01]
    assert adjust_p_values([0.5, 0.6], "holm") == [1.0, 1.0]
    assert adjust_p_values([], "bh") == []


def test_p_value_against_the_allowed_change_not_zero():
    # worsening 0.05, allowed 0.02, se 0.015: z = 2, p = 1 - Phi(2)
    assert p_value_beyond_allowed(0.05, 0.02, 0.015) == pytest.approx(0.0227501319, abs=1e-9)
    # exactly at the allowed change: p = 0.5, whatever the SE
    assert p_value_beyond_allowed(0.02, 0.02, 0.3) == pytest.approx(0.5)
    # a worsening that would be significant against zero is not against the allowed change
    assert p_value_beyond_allowed(0.03, 0.0, 0.01) < 0.01 < p_value_beyond_allowed(0.03, 0.02, 0.01)
    # zero SE: exact
    assert p_value_beyond_allowed(0.03, 0.02, 0.0) == 0.0 and p_value_beyond_allowed(0.01, 0.02, 0.0) == 1.0


def test_bootstrap_se_hand_computed():
    assert bootstrap_se([1.0, 2.0, 3.0, 4.0, float("nan")]) == pytest.approx(math.sqrt(5.0 / 3.0))
    assert bootstrap_se([1.0]) is None


def test_minimum_detectable_change_hand_computed():
    # (z(0.95) + z(0.80)) * se = (1.644854 + 0.841621) * 0.01
    assert minimum_detectable_change(0.01, 0.05, 0.8) == pytest.approx(0.02486475, abs=1e-7)
    # a change of exactly the MDC beyond the allowed one is caught with the asked power
    assert power_at(0.02486475, 0.01, 0.05) == pytest.approx(0.8, abs=1e-6)
    assert minimum_detectable_change(None, 0.05, 0.8) is None


def test_sample_needed_follows_one_over_root_n():
    # MDC twice the allowed change -> four times the images
    assert sample_needed(100, 0.04, 0.02) == 400
    assert sample_needed(100, 0.01, 0.02) == 25
    assert sample_needed(100, 0.01, 0.0) is None


def test_per_test_alpha():
    assert per_test_alpha(0.05, "holm", 10) == pytest.approx(0.005)
    assert per_test_alpha(0.05, "bh", 10) == pytest.approx(0.005)
    assert per_test_alpha(0.05, "none", 10) == 0.05


def test_se_from_a_95_percent_interval():
    # a 95% normal interval is +-1.959964 se wide
    assert se_from_interval(-0.0392, 0.0392, 0.95) == pytest.approx(0.02, abs=1e-5)
    assert se_from_interval(None, 0.1, 0.95) is None
