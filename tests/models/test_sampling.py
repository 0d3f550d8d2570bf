"""Repeat-factor sampling (LVIS) and hard-case mining weights."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gate.models.sampling import draw_batch, repeat_factors, sampling_probabilities, update_mining_weights


def test_repeat_factors_follow_the_lvis_formula():
    # 10 images: class 0 in all of them, class 1 in one (f = 0.1), one image has no boxes.
    labels = [np.asarray([0])] * 8 + [np.asarray([0, 1]), np.asarray([], dtype=np.int64)]
    factors = repeat_factors(labels, num_classes=2, threshold=0.4)
    # f_0 = 0.9 -> max(1, sqrt(0.4 / 0.9)) = 1; f_1 = 0.1 -> sqrt(4) = 2.
    assert factors.tolist() == [1.0] * 8 + [2.0, 1.0]


def test_threshold_zero_turns_sampling_off():
    labels = [np.asarray([0]), np.asarray([1])]
    assert repeat_factors(labels, 2, 0.0).tolist() == [1.0, 1.0]


def test_rare_class_is_drawn_more_often():
    labels = [np.asarray([0])] * 99 + [np.asarray([1])]
    probabilities = sampling_probabilities(repeat_factors(labels, 2, 0.1), np.ones(100))
    draws = draw_batch(np.random.default_rng(0), probabilities, 20000)
    rare_share = float((draws == 99).mean())
    expected = math.sqrt(0.1 / 0.01) / (99 + math.sqrt(0.1 / 0.01))
    assert rare_share == pytest.approx(expected, rel=0.15)


def test_mining_boosts_hard_and_relaxes_easy_images():
    weights = np.asarray([1.0, 3.0, 1.0, 2.0])
    updated = update_mining_weights(weights, hard=np.asarray([True, True, False]), checked=np.asarray([0, 1, 3]),
                                    boost=1.0, max_weight=4.0)
    assert updated.tolist() == [2.0, 4.0, 1.0, 1.0]
