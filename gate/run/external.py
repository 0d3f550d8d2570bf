"""Detections from a runtime tsrgate cannot run itself (the vehicle's pipeline), imported as backend `device:NAME`.

A device team exports a suite (`tsrgate suite export`), runs its own pipeline on the exported images and
hands back one folder with a subfolder per suite:

    DIR/<suite>/detections.json    COCO results: [{"image_id", "category_id", "bbox": [x, y, w, h], "score"}]
    DIR/<suite>/description.json   ExternalDescription: runtime, device, precision, software versions,
                                   the suite manifest sha256 the export named, every image id the pipeline
                                   ran on, optionally per-image latency in ms

`category_id` is the model card's class index + 1 (COCO ids start at 1), boxes are in source-image
pixels. Everything is read and checked before a run writes anything: the manifest sha256 must be the
suite's, the image ids must be exactly the suite's, and every box, score and category id must be valid;
any problem is one InputError naming the file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gate.backends.detections import Detections
from gate.errors import InputError, describe_validation_error
from gate.results.backend import BackendDescription, BackendStatus
from gate.results.latency import LatencyStats
from gate.storage import sha256_file
from gate.suites.export import DESCRIPTION_FILE, RESULTS_FILE

EXTERNAL_PREFIX = "device:"
NAME_CHARACTERS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")


class ExternalDescription(BaseModel):
    """What produced one suite's external detections (`description.json`)."""

    model_config = ConfigDict(extra="forbid")

    suite: str
    suite_manifest_sha256: str = Field(min_length=64, max_length=64)
    runtime: str = Field(min_length=1)  # e.g. "TensorRT 10.3 C++ pipeline"
    device: str = Field(min_length=1)  # e.g. "Jetson Orin AGX 64 GB"
    precision: str = Field(min_length=1)  # fp32, fp16, int8, mixed
    software: dict[str, str] = Field(default_factory=dict)  # component -> version
    image_ids: list[int] = Field(min_length=1)  # every image the pipeline ran on, with or without detections
    latency_ms: dict[int, float] | None = None  # per image id, end to end, as the pipeline measured it
    notes: str = ""


@dataclass
class ExternalSuite:
    """One suite's validated external detections."""

    suite: str
    description: ExternalDescription
    detections: list[Detections]  # in the suite's image order, one per image (empty where none)
    results_path: Path
    results_sha256: str
    description_sha256: str

    def latency(self) -> LatencyStats | None:
        """p50/p90/p99/mean/min/max ms over the reported per-image latencies (None when none were reported)."""
        if not self.description.latency_ms:
            return None
        return LatencyStats.from_milliseconds(list(self.description.latency_ms.values()))


@dataclass
class ExternalSource:
    """All suites' detections from one device folder (`--external NAME=DIR`)."""

    name: str
    folder: Path
    suites: dict[str, ExternalSuite] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # suites of the run the folder has no detections for

    @property
    def backend(self) -> str:
        return f"{EXTERNAL_PREFIX}{self.name}"

    def describe(self) -> BackendDescription:
        """The backend's description: runtime, device, precision, versions, files and their hashes."""
        first = next(iter(self.suites.values()), None)
        d = first.description if first else None
        per_suite = {}
        for name, s in self.suites.items():
            latency = s.latency()
            per_suite[name] = {
                "results_file": str(s.results_path), "results_sha256": s.results_sha256,
                "description_sha256": s.description_sha256,
                "suite_manifest_sha256": s.description.suite_manifest_sha256, "runtime": s.description.runtime,
                "device": s.description.device, "precision": s.description.precision,
                "software": dict(s.description.software),
                "latency_ms": latency.model_dump(mode="json") if latency else None, "notes": s.description.notes}
        return BackendDescription(
            name=self.backend, precision=d.precision if d else "", device=d.device if d else "", threads=None,
            libraries=dict(d.software) if d else {}, model_sha256=None, max_batch=1,
            details={"external": True, "runtime": d.runtime if d else "", "folder": str(self.folder),
                     "suites": per_suite},
        )


def is_external_backend(name: str) -> bool:
    return name.startswith(EXTERNAL_PREFIX)


def reported_latency(backend: BackendStatus, suites: Sequence[str]) -> LatencyStats | None:
    """The latency a device pipeline reported, from the first of `suites` that has some (None if none did)."""
    per_suite = backend.description.details.get("suites", {}) if backend.description else {}
    for suite in suites:
        latency = (per_suite.get(suite) or {}).get("latency_ms")
        if latency:
            return LatencyStats.model_validate(latency)
    return None


def parse_external_option(value: str) -> tuple[str, Path]:
    """`NAME=DIR` -> (NAME, DIR); NAME becomes the backend `device:NAME`."""
    name, sep, folder = value.partition("=")
    name = name.strip()
    if not sep or not name or not folder.strip():
        raise InputError(f"--external {value!r}: expected NAME=DIR (e.g. orin=device-results/)")
    if not set(name) <= NAME_CHARACTERS:
        raise InputError(f"--external {value!r}: NAME may use letters, digits, '_', '-' and '.' only")
    return name, Path(folder.strip())


def _read_json(path: Path, what: str):
    if not path.is_file():
        raise InputError(f"{what} not found", path=path)
    raw = path.read_bytes()
    if not raw.strip():
        raise InputError(f"empty file (expected {what})", path=path)
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not valid JSON ({exc})", path=path) from None


def read_description(path: Path, suite) -> ExternalDescription:
    """The description of one suite's detections, checked against the suite (manifest sha256, image ids)."""
    raw = _read_json(path, "the pipeline's description (runtime, device, precision, image ids)")
    try:
        description = ExternalDescription.model_validate(raw)
    except ValidationError as exc:
        raise InputError(describe_validation_error(exc, "external detections description"), path=path) from None
    if description.suite != suite.name:
        raise InputError(f"describes suite {description.suite!r}, but it is in the folder of suite {suite.name!r}",
                         path=path)
    if description.suite_manifest_sha256 != suite.manifest_sha256:
        raise InputError(f"detections were made on a different suite manifest (sha256 "
                         f"{description.suite_manifest_sha256[:12]}, suite {suite.name} v{suite.version} is "
                         f"{suite.manifest_sha256[:12]}); export the suite again and re-run the pipeline", path=path)
    _check_image_ids(description.image_ids, suite, path, "image_ids")
    if description.latency_ms is not None:
        unknown = sorted(set(description.latency_ms) - set(description.image_ids))
        if unknown:
            raise InputError(f"latency_ms: image ids not in image_ids: {unknown[:5]}", path=path)
        bad = [k for k, v in description.latency_ms.items() if not (math.isfinite(v) and v > 0)]
        if bad:
            raise InputError(f"latency_ms: expected finite positive milliseconds, got "
                             f"{description.latency_ms[bad[0]]!r} for image {bad[0]}", path=path)
    return description


def _check_image_ids(ids: Sequence[int], suite, path: Path, what: str) -> None:
    expected = {image.id for image in suite.coco.images}
    seen = set(ids)
    if len(seen) != len(ids):
        raise InputError(f"{what}: an image id is listed twice", path=path)
    unknown = sorted(seen - expected)
    if unknown:
        raise InputError(f"{what}: {len(unknown)} unknown image id(s), not in suite {suite.name} "
                         f"(first: {unknown[:5]})", path=path)
    missing = sorted(expected - seen)
    if missing:
        raise InputError(f"{what}: {len(missing)} image id(s) of suite {suite.name} missing "
                         f"(first: {missing[:5]}); the pipeline must run on every exported image", path=path)


def _number(value, what: str, index: int, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"detection {index}: {what} must be a number, got {value!r}", path=path)
    if not math.isfinite(value):
        raise InputError(f"detection {index}: non-finite {what} ({value!r})", path=path)
    return float(value)


def read_results(path: Path, suite, class_names: Sequence[str]) -> list[Detections]:
    """COCO results of one suite -> one Detections per suite image (labels = category_id - 1)."""
    raw = _read_json(path, "COCO results (a JSON list of detections)")
    if not isinstance(raw, list):
        raise InputError(f"expected a JSON list of COCO results, got {type(raw).__name__}", path=path)
    known = {image.id for image in suite.coco.images}
    rows: dict[int, list[tuple[list[float], float, int]]] = {image_id: [] for image_id in known}
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise InputError(f"detection {i}: expected an object, got {type(item).__name__}", path=path)
        missing = [k for k in ("image_id", "category_id", "bbox", "score") if k not in item]
        if missing:
            raise InputError(f"detection {i}: missing {', '.join(missing)}", path=path)
        image_id, category_id = item["image_id"], item["category_id"]
        if isinstance(image_id, bool) or not isinstance(image_id, int):
            raise InputError(f"detection {i}: image_id must be an integer, got {image_id!r}", path=path)
        if image_id not in known:
            raise InputError(f"detection {i}: unknown image id {image_id}, not in suite {suite.name}", path=path)
        if isinstance(category_id, bool) or not isinstance(category_id, int) or \
                not 1 <= category_id <= len(class_names):
            raise InputError(f"detection {i}: category_id {category_id!r} is outside the card's classes "
                             f"(1..{len(class_names)} = class index + 1)", path=path)
        bbox = item["bbox"]
        if not isinstance(bbox, list) or len(bbox) != 4:
            raise InputError(f"detection {i}: bbox must be [x, y, width, height], got {bbox!r}", path=path)
        x, y, w, h = (_number(v, "bbox value", i, path) for v in bbox)
        if w < 0 or h < 0:
            raise InputError(f"detection {i}: negative box size (width {w}, height {h})", path=path)
        score = _number(item["score"], "score", i, path)
        if not 0.0 <= score <= 1.0:
            raise InputError(f"detection {i}: score {score} outside [0, 1]", path=path)
        rows[image_id].append(([x, y, x + w, y + h], score, category_id - 1))
    detections = []
    for image in suite.coco.images:
        found = sorted(rows[image.id], key=lambda r: -r[1])  # score order, as tsrgate's own backends give
        detections.append(Detections(
            image_id=image.id, boxes=np.array([r[0] for r in found], np.float32).reshape(-1, 4),
            scores=np.array([r[1] for r in found], np.float32), labels=np.array([r[2] for r in found], np.int64)))
    return detections


def load_external(name: str, folder: str | Path, suites: Sequence, class_names: Sequence[str]) -> ExternalSource:
    """Read and validate one device folder for the run's suites (nothing is written)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("external detections folder not found", path=folder)
    source = ExternalSource(name=name, folder=folder)
    for suite in suites:
        sub = folder / suite.name
        if not sub.is_dir():
            source.missing.append(suite.name)
            continue
        description_path, results_path = sub / DESCRIPTION_FILE, sub / RESULTS_FILE
        description = read_description(description_path, suite)
        detections = read_results(results_path, suite, class_names)
        source.suites[suite.name] = ExternalSuite(
            suite=suite.name, description=description, detections=detections, results_path=results_path,
            results_sha256=sha256_file(results_path), description_sha256=sha256_file(description_path))
    if not source.suites:
        raise InputError(f"no detections for any suite of this run ({', '.join(s.name for s in suites)}): "
                         f"expected {folder}/<suite>/{RESULTS_FILE} and {DESCRIPTION_FILE}", path=folder)
    return source


def folder_name(backend: str) -> str:
    """A results-folder name for a backend (`device:orin` -> `device-orin`)."""
    return backend.replace(":", "-")
