"""`suites/<suite>/consistency.json`: every backend's detections against the torch reference on one suite."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from gate.results.artifact import Artifact
from gate.results.backend import REFERENCE_BACKEND


class ImageConsistency(BaseModel):
    """One image's comparison (kept for the images with disagreements, worst first)."""

    model_config = ConfigDict(extra="forbid")

    image_id: int
    reference_detections: int
    candidate_detections: int
    matched: int
    only_reference: int
    only_candidate: int

    @property
    def disagreements(self) -> int:
        return self.only_reference + self.only_candidate


class BackendConsistency(BaseModel):
    """A candidate backend's detections against the reference backend's, over the same images."""

    model_config = ConfigDict(extra="forbid")

    backend: str
    reference: str = REFERENCE_BACKEND
    iou_threshold: float = Field(gt=0, le=1)
    score_threshold: float = Field(ge=0, le=1)
    images: int
    images_with_disagreement: int
    reference_detections: int
    candidate_detections: int
    matched: int
    only_reference: int
    only_candidate: int
    disagreement_rate: float = Field(ge=0, le=1)
    score_drift_median: float | None  # None when nothing matched
    score_drift_max: float | None
    box_drift_median_px: float | None
    box_drift_max_px: float | None
    worst_images: list[ImageConsistency] = Field(default_factory=list)


class ApDelta(BaseModel):
    """AP lost by a deployment form relative to torch (positive = lost), with its bootstrap CI."""

    loss: float
    ci_low: float
    ci_high: float
    torch_ap: float | None
    backend_ap: float | None


class ConsistencyFigures(BaseModel):
    """One backend on one suite: detection-level agreement with torch and the AP delta (None when undefined)."""

    consistency: BackendConsistency
    ap_delta: ApDelta | None = None


class ConsistencyFile(Artifact):
    what = "consistency file"

    reference: str = REFERENCE_BACKEND
    backends: dict[str, ConsistencyFigures] = Field(default_factory=dict)
