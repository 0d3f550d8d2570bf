"""A 64-bit DCT perceptual hash and a near-duplicate search that avoids comparing every pair.

The hash follows the usual pHash recipe: grey, shrink to 32x32, 2-D DCT-II, keep the 8x8 lowest
frequencies, one bit per coefficient (above the median of the 63 AC terms or not). Re-encoding,
mild rescaling and small brightness changes move few bits; different scenes differ in about half.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from PIL import Image

HASH_BITS = 64
_SIDE = 32  # size of the shrunk grey image the DCT sees
_KEEP = 8  # low-frequency block kept: 8x8 = 64 bits


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


def near_duplicate_pairs(hashes: Sequence[int], max_distance: int) -> list[tuple[int, int, int]]:
    """All index pairs (i < j, distance) whose hashes differ in at most `max_distance` bits.

    Pigeonhole banding instead of an all-pairs scan: cut the 64 bits into `max_distance + 1`
    bands; two hashes within the distance agree exactly on at least one band, so only hashes
    sharing a band value are compared. Near-linear unless many images are near-identical.
    """
    if max_distance < 0:
        raise ValueError("max_distance must be >= 0")
    bands = min(max_distance + 1, HASH_BITS)
    edges = [round(k * HASH_BITS / bands) for k in range(bands + 1)]
    found: dict[tuple[int, int], int] = {}
    for low_bit, high_bit in zip(edges[:-1], edges[1:], strict=True):
        mask = (1 << (high_bit - low_bit)) - 1
        buckets: dict[int, list[int]] = defaultdict(list)
        for index, value in enumerate(hashes):
            buckets[(value >> low_bit) & mask].append(index)
        for members in buckets.values():
            for pos, i in enumerate(members):
                for j in members[pos + 1 :]:
                    if (i, j) not in found:
                        distance = hamming(hashes[i], hashes[j])
                        if distance <= max_distance:
                            found[(i, j)] = distance
    return sorted((i, j, d) for (i, j), d in found.items())
