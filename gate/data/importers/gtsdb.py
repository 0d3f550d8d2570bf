"""GTSDB's original layout: `NNNNN.ppm` frames beside a `gt.txt` of `file;x1;y1;x2;y2;classId` lines.

Conventions follow the shared GTSDB copy (../shared/datasets/gtsdb/README.md) so that an import of
the original benchmark lines up with it: category id = classId + 1 (0 stays free), the benchmark's
class names and competition groups as supercategories, bbox = [x1, y1, x2 - x1, y2 - y1], and the
split tag from the frame number (00000-00599 train, 00600-00899 test). Frames are re-encoded as
PNG (lossless, fixed settings, so the same frames give the same bytes); frames without boxes stay
in the dataset as images without annotations.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from gate.data.coco import CocoDataset
from gate.data.importers.builder import CocoBuilder, at_line, read_text_file
from gate.errors import InputError

GT_FILE = "gt.txt"
FIELDS = ("file", "x1", "y1", "x2", "y2", "classId")
TRAIN_FRAMES = range(0, 600)
TEST_FRAMES = range(600, 900)
# zlib level 1: PNG stays lossless and deterministic; level 6 costs ~4x the time for ~10 % smaller files.
PNG_COMPRESS_LEVEL = 1

# (name, supercategory) indexed by GTSDB classId.
GTSDB_CLASSES: tuple[tuple[str, str], ...] = (
    ("speed_limit_20", "prohibitory"),
    ("speed_limit_30", "prohibitory"),
    ("speed_limit_50", "prohibitory"),
    ("speed_limit_60", "prohibitory"),
    ("speed_limit_70", "prohibitory"),
    ("speed_limit_80", "prohibitory"),
    ("end_speed_limit_80", "other"),
    ("speed_limit_100", "prohibitory"),
    ("speed_limit_120", "prohibitory"),
    ("no_overtaking", "prohibitory"),
    ("no_overtaking_trucks", "prohibitory"),
    ("priority_at_next_intersection", "danger"),
    ("priority_road", "other"),
    ("give_way", "other"),
    ("stop", "other"),
    ("no_traffic_both_ways", "prohibitory"),
    ("no_trucks", "prohibitory"),
    ("no_entry", "other"),
    ("danger", "danger"),
    ("bend_left", "danger"),
    ("bend_right", "danger"),
    ("double_bend", "danger"),
    ("uneven_road", "danger"),
    ("slippery_road", "danger"),
    ("road_narrows", "danger"),
    ("road_works", "danger"),
    ("traffic_signals_ahead", "danger"),
    ("pedestrians", "danger"),
    ("children", "danger"),
    ("cyclists", "danger"),
    ("snow_ice", "danger"),
    ("wild_animals", "danger"),
    ("end_of_restrictions", "other"),
    ("turn_right_ahead", "mandatory"),
    ("turn_left_ahead", "mandatory"),
    ("ahead_only", "mandatory"),
    ("straight_or_right", "mandatory"),
    ("straight_or_left", "mandatory"),
    ("keep_right", "mandatory"),
    ("keep_left", "mandatory"),
    ("roundabout", "mandatory"),
    ("end_no_overtaking", "other"),
    ("end_no_overtaking_trucks", "other"),
)


@dataclass(frozen=True)
class GroundTruthLine:
    line: int
    file: str
    x1: int
    y1: int
    x2: int
    y2: int
    class_id: int


def parse_ground_truth(path: Path, frame_names: set[str]) -> list[GroundTruthLine]:
    """Parse and validate gt.txt; the first bad line is an `InputError` at `gt.txt:LINE`."""
    text = read_text_file(path)
    rows: list[GroundTruthLine] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        where = at_line(path, number)
        fields = line.split(";")
        if len(fields) != len(FIELDS):
            raise InputError(f"expected {len(FIELDS)} fields (file;x1;y1;x2;y2;classId), got {len(fields)}", path=where)
        values = []
        for name, value in zip(FIELDS[1:], fields[1:], strict=True):
            try:
                values.append(int(value.strip()))
            except ValueError:
                raise InputError(f"{name} must be an integer, got {value.strip()!r}", path=where) from None
        x1, y1, x2, y2, class_id = values
        file = fields[0].strip()
        if file not in frame_names:
            raise InputError(f"unknown image {file!r} (no such .ppm frame beside {GT_FILE})", path=where)
        if not 0 <= class_id < len(GTSDB_CLASSES):
            raise InputError(f"classId {class_id} out of range 0-{len(GTSDB_CLASSES) - 1}", path=where)
        if x2 <= x1 or y2 <= y1:
            raise InputError(f"box has zero or negative size (x1={x1} x2={x2} y1={y1} y2={y2})", path=where)
        rows.append(GroundTruthLine(number, file, x1, y1, x2, y2, class_id))
    return rows


def split_of(stem: str) -> str | None:
    """The benchmark's own split for a frame number, None for names outside GTSDB's numbering."""
    if not stem.isdigit():
        return None
    number = int(stem)
    if number in TRAIN_FRAMES:
        return "train"
    if number in TEST_FRAMES:
        return "test"
    return None


def _frame_as_png(path: Path) -> tuple[bytes, int, int]:
    try:
        with Image.open(path) as img:
            img.load()
            rgb = img.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"unreadable frame ({exc})", path=path) from None
    buffer = io.BytesIO()
    rgb.save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue(), rgb.width, rgb.height


def convert(src: Path, builder: CocoBuilder) -> CocoDataset:
    """Import a GTSDB-layout folder (all `.ppm` frames in it, boxes from its gt.txt)."""
    if not src.is_dir():
        raise InputError("not a folder (expected GTSDB layout: NNNNN.ppm frames and gt.txt)", path=src)
    gt_path = src / GT_FILE
    if not gt_path.is_file():
        raise InputError(f"no {GT_FILE} (expected GTSDB layout: NNNNN.ppm frames and {GT_FILE})", path=src)
    frames = sorted(p for p in src.iterdir() if p.is_file() and p.suffix.lower() == ".ppm")
    if not frames:
        raise InputError("no .ppm frames found", path=src)
    rows = parse_ground_truth(gt_path, {p.name for p in frames})
    by_frame: dict[str, list[GroundTruthLine]] = {}
    for row in rows:
        by_frame.setdefault(row.file, []).append(row)

    for class_id, (name, supercategory) in enumerate(GTSDB_CLASSES):
        builder.add_category(name, supercategory, category_id=class_id + 1, source_class_id=class_id)

    for frame in frames:
        data, width, height = _frame_as_png(frame)
        split = split_of(frame.stem)
        image_id = builder.write_image(
            f"{frame.stem}.png",
            data,
            width,
            height,
            where=str(frame),
            tags={"split": split} if split else {},
            original_file_name=frame.name,
        )
        for row in by_frame.get(frame.name, []):
            # x2/y2 may touch the last pixel column/row but not go beyond the frame.
            if row.x1 < 0 or row.y1 < 0 or row.x2 > width or row.y2 > height:
                raise InputError(
                    f"box ({row.x1},{row.y1})-({row.x2},{row.y2}) lies outside the {width}x{height} frame {frame.name}",
                    path=at_line(gt_path, row.line),
                )
            builder.add_annotation(
                image_id,
                row.class_id + 1,
                (row.x1, row.y1, row.x2 - row.x1, row.y2 - row.y1),
                original_bbox_xyxy=[row.x1, row.y1, row.x2, row.y2],
            )
    return builder.build(
        info={
            "description": "GTSDB frames imported from the benchmark's original layout",
            "source_format": "gtsdb",
            "box_convention": "bbox = [x1, y1, x2 - x1, y2 - y1] from gt.txt; category id = classId + 1",
        }
    )
