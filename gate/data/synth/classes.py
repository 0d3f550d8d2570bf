"""The generated world's sign classes: names, families, regions and how often each appears.

EU class names follow GTSDB's (speed_limit_30, give_way, keep_right, ...) and the supercategories are
GTSDB's competition groups (prohibitory, danger, mandatory, other), so a suite taxonomy can map either
dataset onto the other without a lookup table of its own. The order of `SYNTH_CLASSES` fixes the COCO
category ids (1..N); appending a class is a world-version change.
"""

from __future__ import annotations

from dataclasses import dataclass

from gate.data.coco import CocoCategory

REGIONS = ("eu", "us")
SHARED_REGION = "shared"  # drawn the same way in both regions (the octagonal stop sign)


@dataclass(frozen=True)
class SignClass:
    """One sign class: its COCO identity plus what the painter draws and how often it is placed."""

    name: str
    supercategory: str  # GTSDB group: prohibitory, danger, mandatory, other
    family: str  # shape family: speed_limit, prohibitory, warning, give_way, stop, priority, mandatory, ...
    region: str  # eu, us or shared
    weight: float  # relative frequency within its region's scenes; small weights make the rare classes
    face: str  # which face painter draws it (see signs.py)
    text: str = ""  # number or word painted on the face, if any


SYNTH_CLASSES: tuple[SignClass, ...] = (
    # EU speed limits: red-rimmed circles. Pairs such as 30/80 and 60/80 differ in one glyph, which is
    # where a detector's class confusions are expected to show up.
    SignClass("speed_limit_30", "prohibitory", "speed_limit", "eu", 8.0, "eu_speed", "30"),
    SignClass("speed_limit_50", "prohibitory", "speed_limit", "eu", 9.0, "eu_speed", "50"),
    SignClass("speed_limit_60", "prohibitory", "speed_limit", "eu", 4.0, "eu_speed", "60"),
    SignClass("speed_limit_80", "prohibitory", "speed_limit", "eu", 5.0, "eu_speed", "80"),
    SignClass("speed_limit_100", "prohibitory", "speed_limit", "eu", 2.5, "eu_speed", "100"),
    SignClass("speed_limit_120", "prohibitory", "speed_limit", "eu", 1.6, "eu_speed", "120"),
    SignClass("no_overtaking", "prohibitory", "prohibitory", "eu", 3.0, "no_overtaking"),
    SignClass("no_entry", "other", "prohibitory", "eu", 3.5, "no_entry"),
    # EU warnings: red-rimmed triangles with black pictograms.
    SignClass("danger", "danger", "warning", "eu", 3.5, "eu_warning", "exclamation"),
    SignClass("bend_right", "danger", "warning", "eu", 1.5, "eu_warning", "bend_right"),
    SignClass("traffic_signals_ahead", "danger", "warning", "eu", 1.2, "eu_warning", "signals"),
    SignClass("pedestrians", "danger", "warning", "eu", 1.0, "eu_warning", "pedestrian"),
    SignClass("priority_at_next_intersection", "danger", "warning", "eu", 2.5, "eu_warning", "crossing"),
    # Right of way.
    SignClass("give_way", "other", "give_way", "eu", 7.0, "give_way"),
    SignClass("stop", "other", "stop", SHARED_REGION, 3.5, "stop", "STOP"),
    SignClass("priority_road", "other", "priority", "eu", 6.0, "priority_road"),
    # EU mandatory: blue circles with white arrows.
    SignClass("ahead_only", "mandatory", "mandatory", "eu", 2.5, "blue_arrow", "ahead"),
    SignClass("turn_left_ahead", "mandatory", "mandatory", "eu", 1.3, "blue_arrow", "turn_left"),
    SignClass("turn_right_ahead", "mandatory", "mandatory", "eu", 2.0, "blue_arrow", "turn_right"),
    SignClass("keep_right", "mandatory", "mandatory", "eu", 7.0, "blue_arrow", "keep_right"),
    # US style: white rectangular speed limits (mph) and yellow diamond warnings.
    SignClass("us_speed_limit_25", "prohibitory", "us_speed_limit", "us", 6.0, "us_speed", "25"),
    SignClass("us_speed_limit_35", "prohibitory", "us_speed_limit", "us", 5.0, "us_speed", "35"),
    SignClass("us_speed_limit_55", "prohibitory", "us_speed_limit", "us", 3.0, "us_speed", "55"),
    SignClass("us_speed_limit_65", "prohibitory", "us_speed_limit", "us", 1.8, "us_speed", "65"),
    SignClass("us_curve_right", "danger", "us_warning", "us", 3.0, "us_warning", "curve_right"),
    SignClass("us_crossroad", "danger", "us_warning", "us", 2.0, "us_warning", "crossroad"),
    SignClass("us_signal_ahead", "danger", "us_warning", "us", 1.2, "us_warning", "signal"),
)

CLASS_INDEX: dict[str, int] = {c.name: i for i, c in enumerate(SYNTH_CLASSES)}


def category_id(class_index: int) -> int:
    """COCO category id of the class at `class_index` in `SYNTH_CLASSES` (ids start at 1)."""
    return class_index + 1


def synth_categories() -> list[CocoCategory]:
    """The COCO categories of the world, with `family` and `region` kept as extra fields."""
    return [
        CocoCategory(
            id=category_id(i), name=c.name, supercategory=c.supercategory, family=c.family, region=c.region
        )
        for i, c in enumerate(SYNTH_CLASSES)
    ]


def classes_for_region(region: str) -> list[int]:
    """Indices of the classes placed in a scene of `region`: its own classes plus the shared ones."""
    if region not in REGIONS:
        raise ValueError(f"unknown region {region!r}; expected one of {REGIONS}")
    return [i for i, c in enumerate(SYNTH_CLASSES) if c.region in (region, SHARED_REGION)]


def same_family(class_index: int) -> list[int]:
    """Other classes of the same family (look-alikes such as speed_limit_30 and speed_limit_80)."""
    family = SYNTH_CLASSES[class_index].family
    return [i for i, c in enumerate(SYNTH_CLASSES) if c.family == family and i != class_index]
