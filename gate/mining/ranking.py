"""Ranking: one score per image from the weighted signals, near-duplicate scenes collapsed.

The score is the weighted mean of the available signals' strengths (weights and reasons in
`gate.mining.settings`). Ties are broken by file name, so the order never depends on the order
the pool was read in.

Diversity: twenty frames of one foggy crossing would otherwise fill the top twenty. Images are
visited best score first; an image whose perceptual hash is within `duplicate_distance` bits of an
already kept image (`gate.data.phash`, pairs found by multi-index hashing) is collapsed into the
best-scoring such image: it keeps its signals but is marked `duplicate_of` and moves behind every
kept scene. Collapsing goes to kept images only, never through a chain of duplicates, so two
different scenes are not merged because a third resembles both.
"""

from __future__ import annotations

from collections.abc import Sequence

from gate.data.phash import near_duplicate_pairs
from gate.mining.results import MinedImage
from gate.mining.settings import MiningWeights


def combined_score(signals: dict[str, float], weights: MiningWeights, available: Sequence[str]) -> float:
    """Weighted mean of the strengths of the available signals (0 when no weight is available)."""
    total = sum(weights.of(s) for s in available)
    if total <= 0:
        return 0.0
    return sum(weights.of(s) * signals.get(s, 0.0) for s in available) / total


def order_reasons(reasons: dict[str, str], signals: dict[str, float], weights: MiningWeights,
                  min_strength: float) -> list[str]:
    """The reasons of signals at least `min_strength` strong, largest weighted contribution first."""
    shown = [(weights.of(s) * signals[s], s) for s in reasons if signals.get(s, 0.0) >= min_strength]
    shown.sort(key=lambda item: (-item[0], item[1]))
    return [reasons[s] for _, s in shown]


def rank_images(images: list[MinedImage], duplicate_distance: int) -> list[MinedImage]:
    """Ranked copies of `images`: kept scenes by score, then collapsed near-duplicates; ranks 1..N."""
    order = sorted(range(len(images)), key=lambda i: (-images[i].score, images[i].file, images[i].image_id))
    neighbours: dict[int, set[int]] = {i: set() for i in range(len(images))}
    hashes = [int(img.phash, 16) for img in images]
    for a, b, _ in near_duplicate_pairs(hashes, duplicate_distance):
        neighbours[a].add(b)
        neighbours[b].add(a)
    position = {index: k for k, index in enumerate(order)}
    kept: list[int] = []
    kept_set: set[int] = set()
    duplicate_of: dict[int, int] = {}
    for index in order:
        representatives = [j for j in neighbours[index] if j in kept_set]
        if representatives:
            duplicate_of[index] = min(representatives, key=lambda j: position[j])
        else:
            kept.append(index)
            kept_set.add(index)
    collapsed: dict[int, list[int]] = {i: [] for i in kept}
    for index in order:
        if index in duplicate_of:
            collapsed[duplicate_of[index]].append(images[index].image_id)
    ranked = []
    for rank, index in enumerate(kept + [i for i in order if i in duplicate_of], start=1):
        rep = duplicate_of.get(index)
        ranked.append(images[index].model_copy(update={
            "rank": rank,
            "duplicate_of": images[rep].image_id if rep is not None else None,
            "duplicates": collapsed.get(index, []),
        }))
    return ranked
