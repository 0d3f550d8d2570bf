"""Curation checks and statistics for a dataset folder: `check_dataset(path) -> DataCheckReport`.

Problems (any one makes the dataset unclean, `tsrgate data check` exits 1):
unreadable, truncated or missing images; image sizes that disagree with the JSON; boxes outside
their image (beyond BOX_TOLERANCE_PX) or with zero/negative size; annotations pointing to unknown
images or categories; byte-identical and near-identical images; duplicate boxes; duplicate ids
and file names.

Warnings (listed, never failing): classes without boxes (the shared GTSDB has two by construction)
and similar-looking images that are not near-identical (typically neighbouring video frames,
worth knowing about when splitting train and test).

Near-identical images: candidates share a 64-bit DCT pHash within PHASH_MAX_DISTANCE bits, and
are confirmed when their contrast-normalised 32x32 grey thumbnails differ by at most
NEAR_DUPLICATE_MAX_DIFFERENCE on average (in standard deviations). On GTSDB frames,
re-encoding (JPEG q30), 2x/4x downscaling and darkening stay at or below 0.033; consecutive frames
of one drive start at 0.066. Candidates that are not confirmed are "similar" warnings.

Reviewed findings can be accepted with a YAML file (`--accept`): each entry names a kind and a
file and says why; accepted findings stay in the report under `accepted` but do not fail it.
Files in gate/data/accepted/ are applied automatically to the one annotations.json whose sha256
they name (the shared GTSDB copy has a duplicated frame and a doubled box, both reviewed there).
"""

from __future__ import annotations

import contextlib
import io
import itertools
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field

from gate.data.coco import CocoAnnotation, CocoDataset, CocoImage
from gate.data.dataset import ANNOTATIONS_FILE, IMAGES_DIR, DetectionDataset
from gate.data.phash import near_duplicate_pairs, perceptual_hash
from gate.inputs import read_structured, validate
from gate.storage import sha256_bytes, sha256_file

BOX_TOLERANCE_PX = 0.5  # rounding slack for boxes touching the image border
DUPLICATE_BOX_IOU = 0.95
PHASH_MAX_DISTANCE = 8  # of 64 bits
NEAR_DUPLICATE_MAX_DIFFERENCE = 0.04
THUMB_SIDE = 32
BUNDLED_ACCEPTANCES_DIR = Path(__file__).resolve().parent / "accepted"
# Longer box side in px: half-open bins [low, high).
SIZE_BINS: tuple[tuple[str, float, float | None], ...] = (
    ("<16", 0.0, 16.0),
    ("16-32", 16.0, 32.0),
    ("32-96", 32.0, 96.0),
    (">96", 96.0, None),
)

PROBLEM_KINDS = (
    "missing_image",
    "bad_file_name",
    "unreadable_image",
    "truncated_image",
    "size_mismatch",
    "box_outside_image",
    "box_degenerate",
    "unknown_image",
    "unknown_category",
    "duplicate_image",
    "near_duplicate_image",
    "duplicate_box",
    "duplicate_annotation_id",
    "duplicate_image_id",
    "duplicate_category_id",
    "duplicate_file_name",
)
WARNING_KINDS = ("empty_class", "similar_images", "stale_acceptance", "acceptance_not_applied")


class DataProblem(BaseModel):
    """One finding: what kind, which file (relative to the dataset folder) and why."""

    kind: str
    file: str
    reason: str

    def line(self) -> str:
        return f"{self.file}: {self.reason}"


class AcceptedFinding(BaseModel):
    """A reviewed finding that no longer fails the check; `why` records the decision."""

    model_config = ConfigDict(extra="forbid")  # a misspelt key would silently accept nothing

    kind: str
    file: str
    why: str = Field(min_length=1)


class AcceptedFindings(BaseModel):
    """The content of an `--accept` YAML file."""

    model_config = ConfigDict(extra="forbid")

    annotations_sha256: str | None = None  # when set, applies only to that exact annotations.json
    accepted: list[AcceptedFinding] = Field(default_factory=list)

    @classmethod
    def load(cls, path: str | Path) -> AcceptedFindings:
        path = Path(path)
        content = read_structured(path, "accepted-findings file", fmt="yaml")
        return validate(content or {}, cls, path, "accepted-findings file")


class AcceptedProblem(BaseModel):
    problem: DataProblem
    why: str


class ClassCount(BaseModel):
    id: int
    name: str
    supercategory: str
    boxes: int


class SizeBin(BaseModel):
    """Boxes whose longer side lies in [min_px, max_px) (no upper bound when max_px is None)."""

    label: str
    min_px: float
    max_px: float | None
    boxes: int


class DatasetStatistics(BaseModel):
    images: int
    boxes: int  # annotations that are not ignore regions
    ignore_regions: int
    images_without_boxes: int
    categories: int
    boxes_per_class: list[ClassCount]
    size_histogram: list[SizeBin]
    empty_classes: list[int]

    def histogram_counts(self) -> dict[str, int]:
        return {b.label: b.boxes for b in self.size_histogram}

    def class_counts(self) -> dict[str, int]:
        return {c.name: c.boxes for c in self.boxes_per_class}


class CheckSettings(BaseModel):
    box_tolerance_px: float = BOX_TOLERANCE_PX
    duplicate_box_iou: float = DUPLICATE_BOX_IOU
    phash_max_distance: int = PHASH_MAX_DISTANCE
    near_duplicate_max_difference: float = NEAR_DUPLICATE_MAX_DIFFERENCE


class DataCheckReport(BaseModel):
    """Everything `tsrgate data check` found; serialises to JSON and loads back equal."""

    dataset: str
    annotations_sha256: str
    settings: CheckSettings
    problems: list[DataProblem]
    accepted_from: str | None = None  # the accepted-findings file that was applied, if any
    accepted: list[AcceptedProblem] = Field(default_factory=list)
    warnings: list[DataProblem] = Field(default_factory=list)
    statistics: DatasetStatistics

    @property
    def clean(self) -> bool:
        return not self.problems

    def problem_kinds(self) -> Counter[str]:
        return Counter(p.kind for p in self.problems)


# --- image content -------------------------------------------------------------------------------


@contextlib.contextmanager
def _strict_decoding() -> Iterator[None]:
    """Make PIL raise on truncated files even if some other code relaxed it process-wide."""
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def missing_end_marker(data: bytes, image_format: str | None) -> str | None:
    """Why the file's tail shows it was cut short, or None.

    PIL decodes a JPEG that lost only its last bytes without complaint, so the end-of-image marker
    is checked too: it must follow the last start-of-scan marker (a thumbnail's EOI comes earlier).
    """
    if image_format == "JPEG":
        if data.rfind(b"\xff\xd9") < data.rfind(b"\xff\xda"):
            return "truncated JPEG: no end-of-image marker after the last scan"
    elif image_format == "PNG":
        if b"IEND" not in data[-16:]:
            return "truncated PNG: no IEND chunk at the end"
    return None


def _sniff_format(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    return None


class _DecodedImage:
    __slots__ = ("size", "phash", "thumb")

    def __init__(self, size: tuple[int, int], phash: int, thumb: np.ndarray):
        self.size = size
        self.phash = phash
        self.thumb = thumb


def _decode(data: bytes) -> _DecodedImage:
    """Fully decode (so truncation surfaces) and derive the pHash and a normalised thumbnail."""
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        reason = missing_end_marker(data, img.format)
        if reason:
            raise _Truncated(reason)
        grey = img.convert("L")
        thumb = np.asarray(grey.resize((THUMB_SIDE, THUMB_SIDE), Image.Resampling.BOX), dtype=np.float32)
        thumb = (thumb - thumb.mean()) / max(float(thumb.std()), 1e-3)
        return _DecodedImage(img.size, perceptual_hash(grey), thumb.astype(np.float16))


class _Truncated(Exception):
    pass


# --- the checks ----------------------------------------------------------------------------------


def _finding(kind: str, file: str, reason: str) -> DataProblem:
    return DataProblem(kind=kind, file=file, reason=reason)


def _image_file(image: CocoImage) -> str:
    return f"{IMAGES_DIR}/{image.file_name}"


def _safe(file_name: str) -> bool:
    posix = PurePosixPath(file_name.replace("\\", "/"))
    return bool(file_name) and not posix.is_absolute() and ".." not in posix.parts


def _is_ignore(ann: CocoAnnotation) -> bool:
    return ann.ignore or bool(ann.iscrowd)


def _iou(a: CocoAnnotation, b: CocoAnnotation) -> float:
    ax0, ay0, ax1, ay1 = a.xyxy()
    bx0, by0, bx1, by1 = b.xyxy()
    inter = max(0.0, min(ax1, bx1) - max(ax0, bx0)) * max(0.0, min(ay1, by1) - max(ay0, by0))
    union = a.bbox[2] * a.bbox[3] + b.bbox[2] * b.bbox[3] - inter
    return inter / union if union > 0 else 0.0


def _duplicate_ids(coco: CocoDataset) -> list[DataProblem]:
    problems = []
    for kind, label, items in (
        ("duplicate_image_id", "image", coco.images),
        ("duplicate_annotation_id", "annotation", coco.annotations),
        ("duplicate_category_id", "category", coco.categories),
    ):
        for item_id, count in sorted(Counter(item.id for item in items).items()):
            if count > 1:
                problems.append(_finding(kind, ANNOTATIONS_FILE, f"{label} id {item_id} is used {count} times"))
    return problems


def _annotation_problems(coco: CocoDataset, settings: CheckSettings) -> list[DataProblem]:
    """Reference, geometry and duplicate-box checks; they need the JSON only, not the pixels."""
    problems: list[DataProblem] = []
    images = {image.id: image for image in coco.images}
    names = coco.category_names()
    tol = settings.box_tolerance_px
    per_image: dict[int, list[CocoAnnotation]] = defaultdict(list)
    for ann in coco.annotations:
        image = images.get(ann.image_id)
        if image is None:
            problems.append(
                _finding(
                    "unknown_image", ANNOTATIONS_FILE, f"annotation {ann.id} points to unknown image id {ann.image_id}"
                )
            )
            continue
        file = _image_file(image)
        if ann.category_id not in names:
            problems.append(
                _finding("unknown_category", file, f"annotation {ann.id} has unknown category id {ann.category_id}")
            )
        x, y, w, h = ann.bbox
        box = f"annotation {ann.id} box [{x:g}, {y:g}, {w:g}, {h:g}]"
        if w <= 0 or h <= 0:
            problems.append(_finding("box_degenerate", file, f"{box} has zero or negative size"))
            continue
        if x < -tol or y < -tol or x + w > image.width + tol or y + h > image.height + tol:
            problems.append(
                _finding("box_outside_image", file, f"{box} extends outside the {image.width}x{image.height} image")
            )
        per_image[image.id].append(ann)
    for image_id, anns in per_image.items():
        for a, b in itertools.combinations(anns, 2):
            if a.category_id != b.category_id:
                continue
            overlap = 1.0 if a.bbox == b.bbox else _iou(a, b)
            if overlap >= settings.duplicate_box_iou:
                label = names.get(a.category_id, f"id {a.category_id}")
                problems.append(
                    DataProblem(
                        kind="duplicate_box",
                        file=_image_file(images[image_id]),
                        reason=f"annotations {a.id} and {b.id} are duplicate {label} boxes (IoU {overlap:.2f})",
                    )
                )
    return problems


def _image_problems(
    dataset: DetectionDataset, settings: CheckSettings
) -> tuple[list[DataProblem], list[DataProblem]]:
    """Stream every image once: existence, decoding, size, exact and near duplicates."""
    problems: list[DataProblem] = []
    warnings: list[DataProblem] = []
    first_by_name: dict[str, CocoImage] = {}
    first_by_digest: dict[str, str] = {}
    decoded_files: list[str] = []
    digests: list[str] = []
    hashes: list[int] = []
    thumbs: list[np.ndarray] = []
    with _strict_decoding():
        for image in dataset.images:
            file = _image_file(image)
            if not _safe(image.file_name):
                problems.append(_finding("bad_file_name", file, "file name must stay inside images/"))
                continue
            if image.file_name in first_by_name:
                other = first_by_name[image.file_name]
                problems.append(
                    _finding("duplicate_file_name", file, f"listed by image ids {other.id} and {image.id}")
                )
                continue
            first_by_name[image.file_name] = image
            path = dataset.image_path(image)
            if not path.is_file():
                problems.append(_finding("missing_image", file, f"image id {image.id}: file not found"))
                continue
            data = path.read_bytes()
            digest = sha256_bytes(data)
            if digest in first_by_digest:
                problems.append(
                    DataProblem(
                        kind="duplicate_image",
                        file=file,
                        reason=f"byte-identical to {first_by_digest[digest]} (sha256 {digest[:12]})",
                    )
                )
            else:
                first_by_digest[digest] = file
            try:
                decoded = _decode(data)
            except _Truncated as exc:
                problems.append(_finding("truncated_image", file, str(exc)))
                continue
            except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
                cut = missing_end_marker(data, _sniff_format(data))
                if cut or "truncated" in str(exc).lower():
                    problems.append(_finding("truncated_image", file, f"{cut or 'truncated'} ({exc})"))
                else:
                    problems.append(_finding("unreadable_image", file, f"cannot decode ({exc})"))
                continue
            if decoded.size != (image.width, image.height):
                actual = f"{decoded.size[0]}x{decoded.size[1]}"
                problems.append(
                    _finding("size_mismatch", file, f"JSON says {image.width}x{image.height}, the file is {actual}")
                )
            decoded_files.append(file)
            digests.append(digest)
            hashes.append(decoded.phash)
            thumbs.append(decoded.thumb)

    for i, j, distance in near_duplicate_pairs(hashes, settings.phash_max_distance):
        if digests[i] == digests[j]:
            continue  # already reported as byte-identical
        difference = float(np.abs(thumbs[i].astype(np.float32) - thumbs[j].astype(np.float32)).mean())
        detail = f"pHash distance {distance}/64, thumbnail difference {difference:.3f}"
        if difference <= settings.near_duplicate_max_difference:
            problems.append(
                _finding("near_duplicate_image", decoded_files[j], f"near-identical to {decoded_files[i]} ({detail})")
            )
        else:
            warnings.append(
                _finding("similar_images", decoded_files[j], f"looks similar to {decoded_files[i]} ({detail})")
            )
    return problems, warnings


def dataset_statistics(coco: CocoDataset) -> DatasetStatistics:
    """Counts of images, boxes (ignore regions apart), boxes per class and per size bin."""
    boxes = [ann for ann in coco.annotations if not _is_ignore(ann)]
    per_class = Counter(ann.category_id for ann in boxes)
    histogram = []
    for label, low, high in SIZE_BINS:
        count = sum(1 for ann in boxes if ann.longer_side >= low and (high is None or ann.longer_side < high))
        histogram.append(SizeBin(label=label, min_px=low, max_px=high, boxes=count))
    with_boxes = {ann.image_id for ann in boxes}
    categories = sorted(coco.categories, key=lambda c: c.id)
    return DatasetStatistics(
        images=len(coco.images),
        boxes=len(boxes),
        ignore_regions=len(coco.annotations) - len(boxes),
        images_without_boxes=sum(1 for image in coco.images if image.id not in with_boxes),
        categories=len(coco.categories),
        boxes_per_class=[
            ClassCount(id=c.id, name=c.name, supercategory=c.supercategory, boxes=per_class.get(c.id, 0))
            for c in categories
        ],
        size_histogram=histogram,
        empty_classes=[c.id for c in categories if per_class.get(c.id, 0) == 0],
    )


def _apply_acceptances(
    problems: list[DataProblem], accepted: AcceptedFindings | None, annotations_sha256: str, source: str
) -> tuple[list[DataProblem], list[AcceptedProblem], list[DataProblem]]:
    if accepted is None or not accepted.accepted:
        return problems, [], []
    if accepted.annotations_sha256 and accepted.annotations_sha256 != annotations_sha256:
        note = DataProblem(
            kind="acceptance_not_applied",
            file=ANNOTATIONS_FILE,
            reason=f"{source} was written for annotations sha256 {accepted.annotations_sha256[:12]}, "
            f"this one is {annotations_sha256[:12]}; none of its entries were applied",
        )
        return problems, [], [note]
    keep, moved, used = [], [], set()
    for problem in problems:
        match = next((a for a in accepted.accepted if a.kind == problem.kind and a.file == problem.file), None)
        if match is None:
            keep.append(problem)
        else:
            moved.append(AcceptedProblem(problem=problem, why=match.why))
            used.add((match.kind, match.file))
    stale = [
        _finding("stale_acceptance", a.file, f"accepted {a.kind} in {source} no longer occurs")
        for a in accepted.accepted
        if (a.kind, a.file) not in used
    ]
    return keep, moved, stale


def bundled_acceptances(annotations_sha256: str) -> tuple[Path, AcceptedFindings] | None:
    """The file in gate/data/accepted/ written for exactly this annotations.json, if there is one."""
    for path in sorted(BUNDLED_ACCEPTANCES_DIR.glob("*.yaml")):
        findings = AcceptedFindings.load(path)
        if findings.annotations_sha256 == annotations_sha256:
            return path, findings
    return None


def check_dataset(
    path: str | Path,
    settings: CheckSettings | None = None,
    accept: str | Path | AcceptedFindings | None = None,
    use_bundled: bool = True,
) -> DataCheckReport:
    """Run every curation check on a dataset folder (images decoded one at a time).

    `accept` is an accepted-findings YAML (or its loaded form); without it, a bundled file written
    for this exact annotations.json applies unless `use_bundled` is False. Unusable input (no
    folder, invalid JSON) raises `InputError`; problems in a usable dataset go into the report.
    """
    settings = settings or CheckSettings()
    dataset = DetectionDataset.load(path)
    coco = dataset.coco
    annotations_sha256 = sha256_file(dataset.annotations_path)
    source: str | None = None
    accepted: AcceptedFindings | None = None
    if isinstance(accept, str | Path):
        source, accepted = str(accept), AcceptedFindings.load(accept)
    elif accept is not None:
        source, accepted = "the given accepted findings", accept
    elif use_bundled and (bundled := bundled_acceptances(annotations_sha256)) is not None:
        source, accepted = f"gate/data/accepted/{bundled[0].name}", bundled[1]

    problems = _duplicate_ids(coco) + _annotation_problems(coco, settings)
    image_problems, similar = _image_problems(dataset, settings)
    problems = sorted(problems + image_problems, key=lambda p: (p.file, p.kind, p.reason))
    statistics = dataset_statistics(coco)
    names = coco.category_names()
    warnings = [
        _finding("empty_class", ANNOTATIONS_FILE, f"category {cid} {names[cid]} has no boxes")
        for cid in statistics.empty_classes
    ] + sorted(similar, key=lambda p: (p.file, p.reason))
    problems, moved, notes = _apply_acceptances(problems, accepted, annotations_sha256, source or "")
    return DataCheckReport(
        dataset=str(Path(path)),
        annotations_sha256=annotations_sha256,
        settings=settings,
        problems=problems,
        accepted_from=source if moved else None,
        accepted=moved,
        warnings=warnings + notes,
        statistics=statistics,
    )
