"""Every transform family by name; the spec, the builder and the manifest look them up here."""

from __future__ import annotations

from gate.suites.transforms.base import TransformFamily
from gate.suites.transforms.blur import MOTION_BLUR
from gate.suites.transforms.fog import FOG
from gate.suites.transforms.glare import GLARE
from gate.suites.transforms.lowres import LOW_RESOLUTION
from gate.suites.transforms.night import NIGHT
from gate.suites.transforms.occlusion import OCCLUSION
from gate.suites.transforms.rain import RAIN

TRANSFORMS: dict[str, TransformFamily] = {
    family.name: family for family in (NIGHT, RAIN, FOG, OCCLUSION, MOTION_BLUR, GLARE, LOW_RESOLUTION)
}


def get_transform(name: str) -> TransformFamily:
    """The family called `name`; a KeyError says which names exist."""
    try:
        return TRANSFORMS[name]
    except KeyError:
        raise KeyError(f"unknown transform '{name}' (known: {', '.join(sorted(TRANSFORMS))})") from None


def transform_versions() -> dict[str, str]:
    """name -> version of every family (recorded in each manifest's generator versions)."""
    return {name: family.version for name, family in sorted(TRANSFORMS.items())}
