"""Put a cached sign face into the image: perspective, rotation, supersampled shrink, exact box.

A sign is warped onto a small supersampled patch (2-4x the final resolution) with a projective
transform and box-filtered down, so even an 8 px sign has anti-aliased edges. The annotation box is
measured on the supersampled alpha, so it is accurate to a fraction of a pixel and always matches
what was drawn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from gate.data import portable_math as pm

_ALPHA_EDGE = 128  # supersampled alpha at or above this counts as part of the sign's extent


@dataclass(frozen=True)
class SignPose:
    """Where and how a face lands in the image (all lengths in final-image pixels)."""

    center_x: float
    center_y: float
    longer_side: float  # the face's longer side before squash and rotation
    squash: float  # horizontal foreshortening from yaw, 0 < squash <= 1
    keystone: float  # relative height difference between the left and right edges (yaw perspective)
    rotation_deg: float


@dataclass(frozen=True)
class WarpedSign:
    """A premultiplied RGBA patch to composite at integer offset (x0, y0), plus the sign's exact box."""

    x0: int
    y0: int
    rgb: np.ndarray  # (h, w, 3) float32, premultiplied by alpha, 0..255
    alpha: np.ndarray  # (h, w) float32, 0..1
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in image pixels (may extend past the image)


def _corners(face_w: int, face_h: int, pose: SignPose) -> np.ndarray:
    """The face's four corners (TL, TR, BR, BL) in image coordinates."""
    scale = pose.longer_side / max(face_w, face_h)
    w, h = face_w * scale, face_h * scale
    local = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]], dtype=np.float64)
    # Yaw: the face narrows and the edge further from the camera gets shorter.
    local[:, 1] *= 1.0 + pose.keystone * (local[:, 0] / w)
    local[:, 0] *= pose.squash
    theta = math.radians(pose.rotation_deg)
    rot = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    # Written out rather than `local @ rot.T`: BLAS results depend on the CPU (see gate.data.portable_math).
    cos_t, sin_t = rot[0, 0], rot[1, 0]
    x = local[:, 0] * cos_t - local[:, 1] * sin_t + pose.center_x
    y = local[:, 0] * sin_t + local[:, 1] * cos_t + pose.center_y
    return np.stack([x, y], axis=1)


def _homography(src: np.ndarray, dst: np.ndarray) -> tuple[float, ...]:
    """Coefficients (a..h) of the projective map taking each dst point to its src point (PIL's order)."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs.extend([u, v])
    return tuple(pm.solve(rows, rhs))


def supersample_factor(longer_side: float) -> int:
    """Small signs get more supersampling; large ones already have many pixels."""
    if longer_side <= 40:
        return 4
    if longer_side <= 80:
        return 3
    return 2


def warp_sign(face: Image.Image, pose: SignPose) -> WarpedSign:
    """Warp a premultiplied 'RGBa' face to `pose`, returning the patch and the exact sign box."""
    q = supersample_factor(pose.longer_side)
    # Pre-shrink big faces so the bilinear warp never minifies by more than 2x (no aliasing).
    shrink = int(max(face.width, face.height) // (2 * pose.longer_side * q))
    if shrink >= 2:
        face = face.reduce(shrink)
    corners = _corners(face.width, face.height, pose)
    # Two pixels of margin leave room for the blur that far signs get later.
    x0 = math.floor(corners[:, 0].min()) - 2
    y0 = math.floor(corners[:, 1].min()) - 2
    x1 = math.ceil(corners[:, 0].max()) + 2
    y1 = math.ceil(corners[:, 1].max()) + 2
    # Pixel-centre convention: PIL samples output pixel (i, j) at (i + 0.5, j + 0.5).
    dst = (corners - np.array([x0, y0])) * q
    src = np.array([[0, 0], [face.width, 0], [face.width, face.height], [0, face.height]], dtype=np.float64)
    coeffs = _homography(src, dst)
    big = face.transform(((x1 - x0) * q, (y1 - y0) * q), Image.Transform.PERSPECTIVE, coeffs,
                         resample=Image.Resampling.BILINEAR)
    big_alpha = np.asarray(big.getchannel(3))
    cols = np.flatnonzero(big_alpha.max(axis=0) >= _ALPHA_EDGE)
    rows = np.flatnonzero(big_alpha.max(axis=1) >= _ALPHA_EDGE)
    if cols.size == 0 or rows.size == 0:  # degenerate pose (cannot happen for sane sizes); use the quad
        box = (corners[:, 0].min(), corners[:, 1].min(), corners[:, 0].max(), corners[:, 1].max())
    else:
        box = (x0 + cols[0] / q, y0 + rows[0] / q, x0 + (cols[-1] + 1) / q, y0 + (rows[-1] + 1) / q)
    small = np.asarray(big.reduce(q), dtype=np.float32)
    return WarpedSign(
        x0=x0,
        y0=y0,
        rgb=small[..., :3].copy(),
        alpha=small[..., 3] / 255.0,
        box=tuple(float(v) for v in box),
    )
