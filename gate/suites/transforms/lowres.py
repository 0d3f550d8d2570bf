"""Low resolution: the frame as a cheaper or farther-zoomed camera sees it, shrunk then enlarged back.

Downscaling averages pixel areas (a lower-resolution sensor); upscaling is bilinear, so fine detail
is gone and edges are soft, yet the image keeps its size and the boxes stay valid.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from PIL import Image
from pydantic import Field

from gate.suites.transforms.base import RenderInput, TransformFamily, TransformOutcome, TransformParams

UPSAMPLERS = {"nearest": Image.Resampling.NEAREST, "bilinear": Image.Resampling.BILINEAR,
              "bicubic": Image.Resampling.BICUBIC}


class LowResParams(TransformParams):
    factor: float = Field(gt=1, le=16, description="downscale factor (2 = half the width and height)")
    upsample: Literal["nearest", "bilinear", "bicubic"] = Field("bilinear", description="filter used to enlarge back")


SEVERITIES = {1: dict(factor=1.5), 2: dict(factor=2.0), 3: dict(factor=3.0), 4: dict(factor=4.0), 5: dict(factor=6.0)}


def apply_lowres(image: RenderInput, p: LowResParams, rng: np.random.Generator) -> TransformOutcome:
    h, w = image.height, image.width
    small = (max(1, int(round(w / p.factor))), max(1, int(round(h / p.factor))))
    pil = Image.fromarray(np.clip(np.round(image.pixels), 0, 255).astype(np.uint8))
    shrunk = pil.resize(small, Image.Resampling.BOX)
    back = shrunk.resize((w, h), UPSAMPLERS[p.upsample])
    return TransformOutcome(np.asarray(back, dtype=np.float64), drawn={"width": small[0], "height": small[1]})


LOW_RESOLUTION = TransformFamily(
    name="low_resolution",
    version="1",
    summary="low resolution: area downscale then bilinear upscale to the original size",
    params_model=LowResParams,
    severities=SEVERITIES,
    apply=apply_lowres,
)
