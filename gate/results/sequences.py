"""What a verdict keeps of each drive suite: sequence summaries and the worst drives' timelines.

Written by `gate.compare.sequences` into the verdict (`GateVerdict.sequences`) and rendered by the
report's sequence section.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class TrackMark(BaseModel):
    """One sign on a timeline: when it is in view and when each side first confirmed it."""

    class_name: str
    first_frame: int
    last_frame: int
    candidate_confirmed: int | None
    baseline_confirmed: int | None
    scored: bool


class DriveTimeline(BaseModel):
    """The limit in force and both sides' readings, frame by frame, for one drive."""

    drive: str
    fps: float
    image_ids: list[int]
    truth: list[int]
    candidate: list[int]
    baseline: list[int]
    parted: list[int]  # frames where the candidate reads wrong and the baseline right
    tracks: list[TrackMark]
    score: float  # how much worse the candidate is on this drive (ranking only)


class SequenceSummary(BaseModel):
    """What the report shows of one drive suite on one backend."""

    suite: str
    backend: str
    confirmation: dict[str, float]
    drives: int
    tracks: int
    length_km: float
    worst: list[DriveTimeline] = Field(default_factory=list)
