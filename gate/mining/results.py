"""The mining result: every image of the pool, ranked, with every signal it was scored on (JSON).

`mined.json` holds one `MiningResult`. Images are listed in rank order: first the scenes that were
kept (highest score first), then the near-duplicates that were collapsed into them. The top N of
the ranking are the first N images with `duplicate_of` unset. The file carries no clock time, so
mining the same pool with the same model and settings writes the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gate import __version__
from gate.data.coco import TagValue
from gate.errors import InputError
from gate.inputs import read_structured, validate
from gate.mining.settings import MiningSettings, MiningWeights
from gate.storage import atomic_write_text, dump_json

RESULT_FORMAT = "tsrgate-mining/1"
RESULT_FILE = "mined.json"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SceneStatistics(_Strict):
    """Simple whole-image statistics, measured on a copy scaled to 512 px on its longer side."""

    mean_luminance: float  # 0..255 (Rec. 601 luma)
    rms_contrast: float  # standard deviation of the luma, 0..255
    laplacian_variance: float  # variance of the 4-neighbour Laplacian of the luma: low = soft / blurred
    haze_transmission: float  # median dark-channel transmission estimate, 0..1: low = fog or haze


class MinedDetection(_Strict):
    """One detection of the reference backend that the signals looked at (score >= the considered floor)."""

    box: list[float] = Field(min_length=4, max_length=4)  # xyxy in source pixels
    score: float
    label: int
    class_name: str
    runner_up: str | None = None  # the query's second-best class
    runner_up_score: float | None = None
    entropy: float | None = None  # normalised entropy over the query's top classes, 0..1


class MinedImage(_Strict):
    image_id: int
    file: str  # relative to the pool folder (to images/ for a dataset pool), '/'-separated
    sha256: str
    width: int
    height: int
    tags: dict[str, TagValue] = Field(default_factory=dict)
    phash: str  # 64-bit perceptual hash, 16 hex digits
    labelled: bool = False
    scene: SceneStatistics
    detections: list[MinedDetection] = Field(default_factory=list)
    signals: dict[str, float]  # strength in [0, 1] of every available signal
    measurements: dict[str, float | int | str] = Field(default_factory=dict)  # the raw figures behind them
    reasons: list[str] = Field(default_factory=list)  # the strongest signals in words, strongest first
    score: float
    rank: int = 0  # 1-based position in the ranking
    duplicate_of: int | None = None  # image id of the kept scene this image is a near-duplicate of
    duplicates: list[int] = Field(default_factory=list)  # image ids collapsed into this one
    export_file: str | None = None  # file name in to_label/images/ (top N only)


class UnreadableImage(_Strict):
    file: str
    problem: str


class SignalStatus(_Strict):
    name: str
    weight: float
    available: bool
    note: str = ""  # why it is unavailable, or what it was measured with


class ClassRarity(_Strict):
    class_name: str
    training_boxes: int
    rarity: float  # 0 (at or above the median class count) .. 1 (never seen in training)


class RarityTable(_Strict):
    available: bool
    source: str  # where the counts came from, or why there are none
    median_boxes: float = 0.0
    classes: list[ClassRarity] = Field(default_factory=list)

    def rarity_of(self, label: int) -> float:
        return self.classes[label].rarity if self.available and 0 <= label < len(self.classes) else 0.0


class ModelReference(_Strict):
    name: str
    version: str
    weights_sha256: str
    operating_threshold: float
    class_names: list[str]


class PoolRecord(_Strict):
    path: str
    kind: str  # "folder" or "dataset"
    images_found: int
    images_mined: int
    labels: str | None = None  # annotations file the labelled signals used
    labels_sha256: str | None = None
    labelled_images: int = 0


class MiningResult(_Strict):
    format: str = RESULT_FORMAT
    tsrgate_version: str = __version__
    model: ModelReference
    pool: PoolRecord
    backends: list[str]  # the first is the reference every signal reads detections from
    weights: MiningWeights
    settings: MiningSettings
    signals: list[SignalStatus]
    rarity: RarityTable
    libraries: dict[str, str] = Field(default_factory=dict)
    images: list[MinedImage]
    unreadable: list[UnreadableImage] = Field(default_factory=list)

    def top_images(self, count: int | None = None) -> list[MinedImage]:
        """The first `count` (default: settings.top) kept scenes of the ranking, near-duplicates skipped."""
        count = self.settings.top if count is None else count
        return [img for img in self.images if img.duplicate_of is None][:count]

    def image(self, image_id: int) -> MinedImage:
        for img in self.images:
            if img.image_id == image_id:
                return img
        raise KeyError(image_id)

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def to_text(self) -> str:
        return dump_json(self.to_json_dict())

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        atomic_write_text(path, self.to_text())
        return path


def load_mining_result(path: str | Path) -> MiningResult:
    """Read a `mined.json` (or the folder holding one); problems are one InputError naming the file."""
    path = Path(path)
    if path.is_dir():
        path = path / RESULT_FILE
    if not path.is_file():
        raise InputError("mining result not found (expected mined.json from `tsrgate mine`)", path=path)
    raw = read_structured(path, "mining result", fmt="json")
    if not isinstance(raw, dict) or raw.get("format") != RESULT_FORMAT:
        found = raw.get("format") if isinstance(raw, dict) else type(raw).__name__
        raise InputError(f"not a mining result: expected format {RESULT_FORMAT}, got {found!r}", path=path)
    return validate(raw, MiningResult, path, "mining result")
