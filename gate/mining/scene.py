"""Scene signals from simple image statistics: dark, low contrast, blurred, foggy.

Statistics are measured on a copy scaled to 512 px on its longer side, so a 1360x800 GTSDB frame
and a 512x320 generated frame are judged alike:
- mean luminance (Rec. 601 luma): night scenes sit near 20/255, daylight near 120;
- RMS contrast (standard deviation of the luma): flat scenes (night, rain, fog) have little spread;
- Laplacian variance of the luma: the usual focus measure; blur, rain and fog lower it;
- haze: He et al.'s dark channel prior ("Single Image Haze Removal Using Dark Channel Prior",
  CVPR 2009). Haze-free outdoor patches almost always contain a pixel dark in some colour channel;
  fog lifts every channel towards the airlight. The airlight is the median colour of the 5 %
  brightest dark-channel pixels (a median over many, so one headlight does not become the
  airlight), the transmission map is 1 - 0.95 * dark_channel(I / airlight), and its median is the
  statistic: about 0.65 in clear daylight, 0.3-0.45 in fog. At night the prior says nothing (the
  dark channel is black everywhere, transmission near 1); darkness covers those scenes.

Strengths map each statistic to [0, 1] with fixed linear ramps, chosen on a generated world
(per-condition means over 60 images, seed 11: see tests/mining/test_scene.py for the checks):
dark 1 at luminance <= 30, 0 at >= 90; low contrast 1 at RMS <= 15, 0 at >= 40; blur 1 at
Laplacian variance <= 100, 0 at >= 600 (on a log scale); haze 1 at transmission <= 0.33, 0 at
>= 0.58.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image
from scipy import ndimage

from gate.mining.results import SceneStatistics
from gate.mining.settings import BLUR, DARK, HAZE, LOW_CONTRAST

WORKING_SIDE = 512  # statistics are measured at this longer side
_HAZE_SIDE = 256  # the dark channel is computed at half that (it is a low-frequency measure)
_DARK_PATCH = 7  # minimum-filter window of the dark channel at _HAZE_SIDE (15 px at full working size)
_AIRLIGHT_FRACTION = 0.05
_OMEGA = 0.95  # keeps a trace of haze, as in the paper, so distant objects stay plausible
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)

# (statistic value giving strength 1, value giving strength 0)
DARK_RAMP = (30.0, 90.0)
CONTRAST_RAMP = (15.0, 40.0)
BLUR_RAMP = (100.0, 600.0)  # applied to log10 of the Laplacian variance
HAZE_RAMP = (0.33, 0.58)


def _resized(pixels: np.ndarray, side: int) -> np.ndarray:
    height, width = pixels.shape[:2]
    scale = side / max(height, width)
    if abs(scale - 1.0) < 1e-9:
        return pixels.astype(np.float32)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BOX), dtype=np.float32)


def haze_transmission(rgb: np.ndarray) -> float:
    """Median dark-channel transmission of a float RGB image (0..255); see the module docstring."""
    dark = ndimage.minimum_filter(rgb.min(axis=2), size=_DARK_PATCH, mode="nearest")
    flat = dark.ravel()
    count = max(1, int(flat.size * _AIRLIGHT_FRACTION))
    brightest = np.argsort(flat, kind="stable")[-count:]
    airlight = np.maximum(np.median(rgb.reshape(-1, 3)[brightest], axis=0), 1.0)
    normalised = ndimage.minimum_filter((rgb / airlight).min(axis=2), size=_DARK_PATCH, mode="nearest")
    return float(np.median(1.0 - _OMEGA * np.clip(normalised, 0.0, 1.0)))


def scene_statistics(pixels: np.ndarray) -> SceneStatistics:
    """The four statistics of an RGB uint8 image."""
    work = _resized(pixels, WORKING_SIDE)
    luma = work @ _LUMA
    laplacian = ndimage.laplace(luma, mode="nearest")
    haze_input = _resized(pixels, _HAZE_SIDE)
    return SceneStatistics(
        mean_luminance=round(float(luma.mean()), 4),
        rms_contrast=round(float(luma.std()), 4),
        laplacian_variance=round(float(laplacian.var()), 4),
        haze_transmission=round(haze_transmission(haze_input), 4),
    )


def ramp(value: float, full: float, zero: float) -> float:
    """1 at `full`, 0 at `zero`, linear between (either direction), clipped to [0, 1]."""
    if full == zero:
        return float(value <= full)
    return float(min(1.0, max(0.0, (value - zero) / (full - zero))))


def scene_strengths(stats: SceneStatistics) -> dict[str, float]:
    """Strength of the dark, low-contrast, blur and haze signals."""
    variance = max(stats.laplacian_variance, 1e-6)
    return {
        DARK: ramp(stats.mean_luminance, *DARK_RAMP),
        LOW_CONTRAST: ramp(stats.rms_contrast, *CONTRAST_RAMP),
        BLUR: ramp(math.log10(variance), math.log10(BLUR_RAMP[0]), math.log10(BLUR_RAMP[1])),
        HAZE: ramp(stats.haze_transmission, *HAZE_RAMP),
    }


def scene_reason(signal: str, stats: SceneStatistics) -> str:
    """The reason written under an image for a strong scene signal."""
    if signal == DARK:
        return f"dark scene (mean luminance {stats.mean_luminance:.0f}/255)"
    if signal == LOW_CONTRAST:
        return f"low contrast (RMS {stats.rms_contrast:.0f}/255)"
    if signal == BLUR:
        return f"blurred or soft (Laplacian variance {stats.laplacian_variance:.0f})"
    return f"fog or haze (dark-channel transmission {stats.haze_transmission:.2f})"
