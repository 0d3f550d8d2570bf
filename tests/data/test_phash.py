"""The perceptual hash and its banded near-duplicate search."""

from __future__ import annotations

import itertools
import random

import pytest
from PIL import Image

from gate.data.phash import hamming, near_duplicate_pairs, perceptual_hash
from tests.data.conftest import picture


def brute_force_pairs(hashes, max_distance):
    return [
        (i, j, hamming(hashes[i], hashes[j]))
        for i, j in itertools.combinations(range(len(hashes)), 2)
        if hamming(hashes[i], hashes[j]) <= max_distance
    ]


@pytest.mark.parametrize("max_distance", [0, 1, 4, 8, 12])
def test_banded_search_equals_all_pairs(max_distance):
    rng = random.Random(max_distance)
    hashes = [rng.getrandbits(64) for _ in range(300)]
    # plant near copies: flip up to 12 bits of some hashes
    for k in range(60):
        base = hashes[rng.randrange(300)]
        flips = rng.sample(range(64), rng.randrange(0, 13))
        hashes.append(base ^ sum(1 << b for b in flips))
    expected = brute_force_pairs(hashes, max_distance)
    assert near_duplicate_pairs(hashes, max_distance) == expected
    assert expected  # the planted copies make the comparison meaningful


def test_identical_pictures_hash_equal_and_distinct_pictures_differ():
    assert perceptual_hash(picture(3)) == perceptual_hash(picture(3))
    distances = [hamming(perceptual_hash(picture(a)), perceptual_hash(picture(b))) for a, b in [(1, 2), (3, 4), (5, 6)]]
    assert min(distances) > 12


def test_hash_survives_rescaling():
    big = picture(7, 320, 240)
    small = big.resize((160, 120), Image.Resampling.BILINEAR)
    assert hamming(perceptual_hash(big), perceptual_hash(small)) <= 4


def test_negative_distance_is_rejected():
    with pytest.raises(ValueError):
        near_duplicate_pairs([1, 2], -1)
