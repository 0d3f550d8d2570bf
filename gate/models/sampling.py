"""Which training images a step sees: repeat-factor sampling (LVIS) times hard-case mining weights."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def repeat_factors(image_labels: Sequence[np.ndarray], num_classes: int, threshold: float) -> np.ndarray:
    """LVIS repeat factor per image: max over its classes of max(1, sqrt(threshold / f_c)).

    f_c is the fraction of training images that contain class c. Images without boxes get 1.
    A threshold of 0 turns the scheme off (every factor 1).
    """
    count = len(image_labels)
    factors = np.ones(count, dtype=np.float64)
    if threshold <= 0 or count == 0:
        return factors
    images_with = np.zeros(num_classes, dtype=np.float64)
    for labels in image_labels:
        for label in np.unique(labels):
            images_with[int(label)] += 1
    fraction = images_with / count
    per_class = np.ones(num_classes, dtype=np.float64)
    present = fraction > 0
    per_class[present] = np.maximum(1.0, np.sqrt(threshold / fraction[present]))
    for i, labels in enumerate(image_labels):
        if len(labels):
            factors[i] = float(per_class[np.unique(labels)].max())
    return factors


def sampling_probabilities(factors: np.ndarray, mining_weights: np.ndarray) -> np.ndarray:
    weights = factors * mining_weights
    return weights / weights.sum()


def draw_batch(rng: np.random.Generator, probabilities: np.ndarray, batch_size: int) -> np.ndarray:
    """Indices of the images for one step (with replacement, as repeat-factor sampling implies)."""
    return rng.choice(len(probabilities), size=batch_size, replace=True, p=probabilities)


def update_mining_weights(
    weights: np.ndarray, hard: np.ndarray, checked: np.ndarray, boost: float, max_weight: float
) -> np.ndarray:
    """Hard images checked this round gain weight (x(1+boost), capped); easy ones drift back towards 1."""
    updated = weights.copy()
    factor = 1.0 + boost
    for index, is_hard in zip(checked, hard, strict=True):
        if is_hard:
            updated[index] = min(max_weight, updated[index] * factor)
        else:
            updated[index] = max(1.0, updated[index] / factor)
    return updated
