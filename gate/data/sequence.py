"""The drive table of a sequence suite: which frames make each drive and which sign tracks it passes.

A sequence suite's source images carry tags `drive`, `frame` (0, 1, 2, ... in image order), `fps`
(and optionally `speed_mps`, `odometer_m`, `speed_limit`), and every box an attribute `track_id`
(one per physical sign within its drive; `distance_m` optional). A dataset's `info.drives` may list
the drives it holds (`id`, `fps`, `frames`). This module checks that structure and condenses it into
the `SequenceTable` a manifest records; problems are one-line InputErrors naming the file:
frames out of order, a duplicate track id in one frame, a frame rate that is not above zero, a
drive with no frames, a box without a track id.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from gate.errors import InputError

UNKNOWN_LIMIT = -1  # no speed-limit sign passed yet in this drive


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SequenceTrack(_Strict):
    """One physical sign of a drive, as the suite scores it."""

    track_id: int
    category_id: int  # evaluation category (after the suite's taxonomy)
    first_frame: int  # first frame (index within the drive) where it is annotated
    last_frame: int  # last annotated frame: after it the sign has left the view
    passed: bool  # left the view before the drive ended (only passed tracks count for "before passing")
    passed_frame: int  # first frame at or beyond the sign (odometer >= its position); frames count if never
    ignore: bool = False  # an ignore region in frame scoring (e.g. a class the suite does not score)


class SequenceDrive(_Strict):
    id: str
    fps: float
    speed_mps: float
    image_ids: list[int]  # frame order
    odometer_m: list[float]  # metres driven at each frame
    speed_limit: list[int]  # limit in force at each frame (0 = none posted, -1 = not known yet)
    tracks: list[SequenceTrack]

    @property
    def length_m(self) -> float:
        """Distance driven over the drive (its frames span (n - 1) / fps seconds)."""
        return self.speed_mps * (len(self.image_ids) - 1) / self.fps


class SequenceTable(_Strict):
    drives: list[SequenceDrive]
    frames: int
    tracks: int
    length_m: float


@dataclass(frozen=True)
class SequenceFrame:
    """What the table is built from: one kept image with its tags and (annotation, ignore) boxes."""

    image_id: int
    tags: dict
    boxes: list[tuple[int, int, dict, bool]]  # (annotation id, evaluation category id, attributes, ignore)


def _number(value, what: str, where: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{what} must be a number, got {value!r}", path=where)
    return float(value)


def build_sequence_table(frames: list[SequenceFrame], declared: list[dict] | None, where: str | Path) -> SequenceTable:
    """Group frames into drives and boxes into tracks, refusing anything that is not a clean sequence."""
    where = Path(where)
    by_drive: dict[str, list[SequenceFrame]] = {}
    for frame in sorted(frames, key=lambda f: f.image_id):
        drive = frame.tags.get("drive")
        if drive is None or "frame" not in frame.tags:
            raise InputError(f"image {frame.image_id} has no `drive` and `frame` tags: not a frame of a drive",
                             path=where)
        by_drive.setdefault(str(drive), []).append(frame)
    for item in declared or []:
        name = str(item.get("id"))
        if "fps" in item and not _number(item["fps"], f"drive {name}: fps", where) > 0:
            raise InputError(f"drive {name}: fps must be above 0, got {item['fps']}", path=where)
        if item.get("frames") == 0 or name not in by_drive:
            raise InputError(f"drive {name} has no frames", path=where)
    if not by_drive:
        raise InputError("a sequence suite needs at least one drive with frames", path=where)
    drives = []
    for name, items in by_drive.items():
        fps = _number(items[0].tags.get("fps"), f"drive {name}: fps", where)
        if not fps > 0:
            raise InputError(f"drive {name}: fps must be above 0, got {items[0].tags.get('fps')}", path=where)
        speed = _number(items[0].tags.get("speed_mps", 0.0), f"drive {name}: speed_mps", where)
        tracks: dict[int, dict] = {}
        for index, frame in enumerate(items):
            number = frame.tags["frame"]
            if number != index:
                previous = items[index - 1].tags["frame"] if index else None
                raise InputError(f"drive {name}: frames out of order (image {frame.image_id} is frame {number}"
                                 + (f" after frame {previous})" if previous is not None else ", expected frame 0)"),
                                 path=where)
            if frame.tags.get("fps") != items[0].tags.get("fps"):
                raise InputError(f"drive {name}: frame {number} has fps {frame.tags.get('fps')}, the drive "
                                 f"{items[0].tags.get('fps')}", path=where)
            seen: set[int] = set()
            for ann_id, category, attributes, ignore in frame.boxes:
                track = attributes.get("track_id")
                if isinstance(track, bool) or not isinstance(track, int):
                    raise InputError(f"drive {name}: box {ann_id} in frame {number} has no integer track_id",
                                     path=where)
                if track in seen:
                    raise InputError(f"drive {name}: duplicate track id {track} in frame {number} (image "
                                     f"{frame.image_id})", path=where)
                seen.add(track)
                entry = tracks.setdefault(track, {"category": category, "first": number, "last": number,
                                                  "ignore": ignore, "positions": []})
                distance = attributes.get("distance_m")
                if isinstance(distance, int | float) and not isinstance(distance, bool):
                    entry["positions"].append(float(frame.tags.get("odometer_m", speed * index / fps)) + distance)
                if entry["category"] != category:
                    raise InputError(f"drive {name}: track {track} changes class in frame {number}", path=where)
                entry["last"] = number
        last = len(items) - 1
        odometer = [float(f.tags.get("odometer_m", speed * i / fps)) for i, f in enumerate(items)]

        def passed_frame(entry: dict) -> int:
            if not entry["positions"]:  # no distances: the sign counts as passed when it leaves the view
                return entry["last"] + 1
            position = sorted(entry["positions"])[len(entry["positions"]) // 2]
            return next((i for i, o in enumerate(odometer) if o >= position - 1e-6), len(items))

        drives.append(SequenceDrive(
            id=name, fps=fps, speed_mps=speed, image_ids=[f.image_id for f in items], odometer_m=odometer,
            speed_limit=[int(f.tags.get("speed_limit", UNKNOWN_LIMIT)) for f in items],
            tracks=[SequenceTrack(track_id=t, category_id=e["category"], first_frame=e["first"], last_frame=e["last"],
                                  passed=e["last"] < last, passed_frame=passed_frame(e), ignore=e["ignore"]) for t, e in sorted(tracks.items())],
        ))
    return SequenceTable(drives=drives, frames=sum(len(d.image_ids) for d in drives),
                         tracks=sum(len(d.tracks) for d in drives), length_m=round(sum(d.length_m for d in drives), 3))
