"""Detections on disk: one compact, deterministic .npz per suite and backend, and a cache keyed by inputs."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from gate.backends.detections import Detections
from gate.errors import IntegrityError
from gate.storage import atomic_write_npz, canonical_json, sha256_bytes


def detections_arrays(detections: Sequence[Detections]) -> dict[str, np.ndarray]:
    counts = np.array([len(d) for d in detections], dtype=np.int64)
    return {
        "image_ids": np.array([d.image_id for d in detections], dtype=np.int64),
        "counts": counts,
        "boxes": np.concatenate([d.boxes for d in detections]).astype(np.float32) if counts.sum() else np.zeros((0, 4), np.float32),
        "scores": np.concatenate([d.scores for d in detections]).astype(np.float32) if counts.sum() else np.zeros(0, np.float32),
        "labels": np.concatenate([d.labels for d in detections]).astype(np.int32) if counts.sum() else np.zeros(0, np.int32),
    }


def save_detections(path: str | Path, detections: Sequence[Detections]) -> None:
    atomic_write_npz(path, detections_arrays(detections))


def load_detections(path: str | Path) -> list[Detections]:
    """Per-image detections in the stored order; a damaged file is an IntegrityError naming it."""
    try:
        with np.load(path, allow_pickle=False) as data:
            ids, counts = data["image_ids"], data["counts"]
            boxes, scores, labels = data["boxes"], data["scores"], data["labels"]
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise IntegrityError(f"unreadable detections file ({exc})", path=path) from None
    ends = np.cumsum(counts)
    starts = ends - counts
    return [
        Detections(image_id=int(i), boxes=boxes[s:e], scores=scores[s:e], labels=labels[s:e].astype(np.int64))
        for i, s, e in zip(ids, starts, ends, strict=True)
    ]


def prediction_cache_key(
    *, weights_sha256: str, card_sha256: str, manifest_sha256: str, backend: str, export_settings: dict | None,
    libraries: dict[str, str],
) -> str:
    """Everything that determines a backend's detections on a suite (the card covers pre/postprocessing)."""
    return sha256_bytes(canonical_json({
        "weights": weights_sha256, "card": card_sha256, "suite": manifest_sha256, "backend": backend,
        "export": export_settings or {}, "libraries": libraries,
    }))


class PredictionCache:
    """Detections cached under `<cache>/predictions/`, so an unchanged re-run takes seconds."""

    def __init__(self, root: Path):
        self.root = root / "predictions"

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npz"

    def get(self, key: str) -> list[Detections] | None:
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            return load_detections(path)
        except IntegrityError:
            return None  # a damaged cache entry is recomputed, never trusted

    def put(self, key: str, detections: Sequence[Detections]) -> None:
        save_detections(self.path(key), detections)
