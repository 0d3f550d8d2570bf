"""Combining signals and ranking with near-duplicate collapse."""

from __future__ import annotations

import pytest

from gate.mining.ranking import combined_score, order_reasons, rank_images
from gate.mining.results import MinedImage, SceneStatistics
from gate.mining.settings import SIGNALS, MiningWeights

SCENE = SceneStatistics(mean_luminance=100, rms_contrast=40, laplacian_variance=500, haze_transmission=0.6)


def image(image_id, score, phash, file=None):
    return MinedImage(image_id=image_id, file=file or f"img_{image_id:03d}.jpg", sha256="0" * 64, width=10,
                      height=10, phash=f"{phash:016x}", scene=SCENE, signals={}, score=score)


def test_default_weights_cover_every_signal_and_sum_as_documented():
    weights = MiningWeights()
    assert set(MiningWeights.model_fields) == set(SIGNALS)
    assert sum(weights.of(s) for s in SIGNALS) == pytest.approx(1.12)


def test_score_is_the_weighted_mean_over_available_signals():
    weights = MiningWeights()
    signals = {"dark": 1.0, "haze": 0.5, "near_threshold": 0.0}
    expected = (0.10 * 1.0 + 0.10 * 0.5) / (0.10 + 0.10 + 0.12)
    assert combined_score(signals, weights, ["dark", "haze", "near_threshold"]) == pytest.approx(expected)
    # an unavailable signal changes neither sum
    assert combined_score(signals, weights, ["dark", "haze", "near_threshold"]) == pytest.approx(
        combined_score({**signals, "missed": 1.0}, weights, ["dark", "haze", "near_threshold"]))
    assert combined_score(signals, MiningWeights(dark=0, haze=0, near_threshold=0), ["dark"]) == 0.0


def test_reasons_are_ordered_by_weighted_contribution_and_filtered_by_strength():
    weights = MiningWeights()
    reasons = {"dark": "dark", "blur": "blur", "haze": "haze", "tiny_objects": "tiny"}
    strengths = {"dark": 0.4, "blur": 1.0, "haze": 0.9, "tiny_objects": 0.2}
    # haze 0.09, blur 0.06, dark 0.04; tiny is below 0.3
    assert order_reasons(reasons, strengths, weights, 0.3) == ["haze", "blur", "dark"]


def test_ranking_orders_by_score_then_file_name():
    ranked = rank_images([image(1, 0.2, 0x0F0F0F0F0F0F0F0F, "b.jpg"), image(2, 0.5, 0),
                          image(3, 0.2, 0xFFFFFFFF00000000, "a.jpg")], duplicate_distance=4)
    assert [(i.image_id, i.rank) for i in ranked] == [(2, 1), (3, 2), (1, 3)]
    assert all(i.duplicate_of is None for i in ranked)


def test_near_duplicates_collapse_into_the_best_scoring_copy():
    scene = 0x0123456789ABCDEF
    images = [image(1, 0.30, scene ^ 0b1), image(2, 0.90, scene), image(3, 0.60, scene ^ 0b111),
              image(4, 0.50, ~scene & (2**64 - 1)), image(5, 0.10, 0x00FF00FF00FF00FF)]
    ranked = rank_images(images, duplicate_distance=4)
    kept = [i.image_id for i in ranked if i.duplicate_of is None]
    assert kept == [2, 4, 5]  # one copy of the repeated scene, best score first
    assert [i.image_id for i in ranked] == [2, 4, 5, 3, 1]  # duplicates after every kept scene
    assert {i.image_id: i.duplicate_of for i in ranked if i.duplicate_of} == {3: 2, 1: 2}
    assert ranked[0].duplicates == [3, 1]
    assert [i.rank for i in ranked] == [1, 2, 3, 4, 5]


def test_duplicates_do_not_chain_through_a_middle_image():
    # 1 ~ 2 (3 bits) and 2 ~ 3 (3 bits) but 1 and 3 differ in 6 bits: 3 is a scene of its own
    images = [image(1, 0.9, 0b000000), image(2, 0.5, 0b000111), image(3, 0.4, 0b111111)]
    ranked = rank_images(images, duplicate_distance=3)
    assert [(i.image_id, i.duplicate_of) for i in ranked] == [(1, None), (3, None), (2, 1)]


def test_distance_zero_collapses_only_identical_hashes():
    ranked = rank_images([image(1, 0.9, 5), image(2, 0.8, 5), image(3, 0.7, 4)], duplicate_distance=0)
    assert [(i.image_id, i.duplicate_of) for i in ranked] == [(1, None), (3, None), (2, 1)]
