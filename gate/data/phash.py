"""A 64-bit DCT perceptual hash and a near-duplicate search that avoids comparing every pair.

The hash follows the usual pHash recipe: grey, shrink to 32x32, 2-D DCT-II, keep the 8x8 lowest
frequencies, one bit per coefficient (above the median of the 63 AC terms or not). Re-encoding,
mild rescaling and small brightness changes move few bits; different scenes differ in about half.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from itertools import combinations

import numpy as np
from PIL import Image

HASH_BITS = 64
_SIDE = 32  # size of the shrunk grey image the DCT sees
_KEEP = 8  # low-frequency block kept: 8x8 = 64 bits
_BANDS = 4  # multi-index hashing: 4 bands of 16 bits


@lru_cache(maxsize=1)
def _dct_matrix() -> np.ndarray:
    """Orthonormal DCT-II basis for length _SIDE (rows are frequencies)."""
    n = np.arange(_SIDE)
    basis = np.cos(np.pi * (2 * n[None, :] + 1) * n[:, None] / (2 * _SIDE))
    basis[0] *= np.sqrt(1 / _SIDE)
    basis[1:] *= np.sqrt(2 / _SIDE)
    return basis


def perceptual_hash(image: Image.Image) -> int:
    """64-bit DCT pHash of a decoded PIL image, as a Python int."""
    grey = image.convert("L").resize((_SIDE, _SIDE), Image.Resampling.BOX)
    pixels = np.asarray(grey, dtype=np.float64)
    dct = _dct_matrix()
    low = (dct @ pixels @ dct.T)[:_KEEP, :_KEEP].ravel()
    # The DC term only says how bright the image is; leave it out of the median.
    bits = low > np.median(low[1:])
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


@lru_cache(maxsize=8)
def _flip_masks(bits: int, radius: int) -> np.ndarray:
    """Every XOR mask of `bits` bits with at most `radius` bits set (0 first)."""
    masks = [0]
    for count in range(1, radius + 1):
        masks += [sum(1 << b for b in chosen) for chosen in combinations(range(bits), count)]
    return np.array(masks, dtype=np.int64)


def _candidate_chunks(counts: np.ndarray, limit: int) -> list[tuple[int, int]]:
    """Split rows into [start, end) ranges holding at most ~`limit` candidates each."""
    ends = np.searchsorted(np.cumsum(counts), np.arange(limit, int(counts.sum()) + limit, limit), side="right")
    bounds = sorted({0, len(counts), *(int(e) for e in ends)})
    # a single row with more than `limit` candidates still forms its own chunk
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


def near_duplicate_pairs(
    hashes: Sequence[int], max_distance: int, chunk_candidates: int = 2_000_000
) -> list[tuple[int, int, int]]:
    """All index pairs (i < j, distance) whose hashes differ in at most `max_distance` bits.

    Multi-index hashing instead of an all-pairs scan: the 64 bits are cut into 4 bands of 16; two
    hashes within `max_distance` differ in at most `max_distance // 4` bits in at least one band
    (pigeonhole), so each hash is compared only with hashes whose band value lies within that
    radius of its own (137 probes per band at distance 8), found by binary search in the sorted
    band values. Near-linear unless many images share nearly one hash; candidates are processed
    in chunks of `chunk_candidates` so memory stays bounded even then.
    """
    if max_distance < 0:
        raise ValueError("max_distance must be >= 0")
    values = np.array([int(h) & ((1 << HASH_BITS) - 1) for h in hashes], dtype=np.uint64)
    n = len(values)
    if n < 2:
        return []
    band_bits = HASH_BITS // _BANDS
    masks = _flip_masks(band_bits, min(max_distance // _BANDS, band_bits))
    rows = np.arange(n)
    found_i: list[np.ndarray] = []
    found_j: list[np.ndarray] = []
    for band in range(_BANDS):
        keys = ((values >> np.uint64(band * band_bits)) & np.uint64((1 << band_bits) - 1)).astype(np.int64)
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        for flip in masks:
            targets = keys ^ flip
            left = np.searchsorted(sorted_keys, targets, side="left")
            counts = np.searchsorted(sorted_keys, targets, side="right") - left
            for start, end in _candidate_chunks(counts, chunk_candidates):
                chunk_counts = counts[start:end]
                total = int(chunk_counts.sum())
                if total == 0:
                    continue
                i = np.repeat(rows[start:end], chunk_counts)
                # positions left[i], left[i] + 1, ... for each row, flattened
                offsets = np.arange(total) - np.repeat(np.cumsum(chunk_counts) - chunk_counts, chunk_counts)
                j = order[np.repeat(left[start:end], chunk_counts) + offsets]
                keep = i < j
                i, j = i[keep], j[keep]
                close = np.bitwise_count(values[i] ^ values[j]) <= max_distance
                found_i.append(i[close])
                found_j.append(j[close])
    if not found_i:
        return []
    pair_codes = np.unique(np.concatenate(found_i).astype(np.int64) * n + np.concatenate(found_j))
    first, second = pair_codes // n, pair_codes % n
    distances = np.bitwise_count(values[first] ^ values[second])
    return [(int(a), int(b), int(d)) for a, b, d in zip(first, second, distances, strict=True)]
