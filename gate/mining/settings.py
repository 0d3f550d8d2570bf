"""What mining measures and how much each signal counts: the documented weights and thresholds.

Every signal is first turned into a strength in [0, 1] by a fixed rule (see `gate.mining.signals`
and `gate.mining.scene`), so strengths mean the same thing in every pool and a result does not
shift when other images are added. The image's score is the weighted mean of the strengths of the
signals that could be measured in this run:

    score = sum(weight[s] * strength[s] for s in available) / sum(weight[s] for s in available)

A signal is unavailable, and left out of both sums, when its input is missing: backend
disagreement without a second backend, rare classes without the model's training data, missed and
confused signs without labels. The weights below sum to 1.12 with every signal available; they
are relative, the division keeps the score in [0, 1].

Default weights, and why:
- model uncertainty, 0.28: a detection whose score sits near the operating threshold (0.12) is one
  small change away from being lost or gained; two classes close in score (0.10), e.g. a
  speed_limit_30 at 0.41 with speed_limit_80 at 0.38 from the same query, is a look-alike
  confusion waiting to happen; high entropy over the top classes (0.06) says the same more
  loosely, so it counts less;
- backend disagreement, 0.12: a sign the FP32 model finds and the INT8 model loses (or the
  reverse, or with another class) is exactly what deployment changes;
- rare-class hits, 0.14: classes with few training boxes are where the model is weakest and where
  each new labelled example helps most;
- scene conditions, 0.32: dark (0.10) and foggy/hazy (0.10) scenes are the conditions the issue
  names and the clean daylight training data covers least; low contrast (0.06) and blur (0.06)
  overlap with them (night is low contrast, fog is soft), so they count less;
- tiny detections, 0.04: small signs are hard, but most road scenes have a few far away, so the
  signal is common and weighs little;
- with labels, real errors: a labelled sign the model missed (0.14) or gave the wrong class
  (0.08) is direct evidence rather than a proxy.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# Signal names in the order results list them.
NEAR_THRESHOLD = "near_threshold"
CLASS_MARGIN = "class_margin"
CLASS_ENTROPY = "class_entropy"
BACKEND_DISAGREEMENT = "backend_disagreement"
RARE_CLASS = "rare_class"
DARK = "dark"
LOW_CONTRAST = "low_contrast"
BLUR = "blur"
HAZE = "haze"
TINY_OBJECTS = "tiny_objects"
MISSED = "missed"
CONFUSED = "confused"

SIGNALS = (NEAR_THRESHOLD, CLASS_MARGIN, CLASS_ENTROPY, BACKEND_DISAGREEMENT, RARE_CLASS, DARK, LOW_CONTRAST, BLUR,
           HAZE, TINY_OBJECTS, MISSED, CONFUSED)
SCENE_SIGNALS = (DARK, LOW_CONTRAST, BLUR, HAZE)
LABELLED_SIGNALS = (MISSED, CONFUSED)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MiningWeights(_Strict):
    """Relative weight of each signal in the combined score (see the module docstring for the reasons)."""

    near_threshold: float = Field(0.12, ge=0)
    class_margin: float = Field(0.10, ge=0)
    class_entropy: float = Field(0.06, ge=0)
    backend_disagreement: float = Field(0.12, ge=0)
    rare_class: float = Field(0.14, ge=0)
    dark: float = Field(0.10, ge=0)
    low_contrast: float = Field(0.06, ge=0)
    blur: float = Field(0.06, ge=0)
    haze: float = Field(0.10, ge=0)
    tiny_objects: float = Field(0.04, ge=0)
    missed: float = Field(0.14, ge=0)
    confused: float = Field(0.08, ge=0)

    def of(self, signal: str) -> float:
        return float(getattr(self, signal))


class MiningSettings(_Strict):
    """Thresholds of the signal rules and of the output.

    near_band: a detection counts as uncertain when its score is within this distance of the
    operating threshold; detections scoring below `operating_threshold - near_band` are ignored by
    every signal (they are the low-score tail AP needs, not candidate signs).
    """

    top: int = Field(50, gt=0)  # images on the contact sheet and in the "to label" export
    near_band: float = Field(0.25, gt=0, lt=1)
    entropy_top_classes: int = Field(5, ge=2)  # entropy over the query's K best class scores
    tiny_px: float = Field(16.0, gt=0)  # a detection whose longer side is below this is tiny
    tiny_saturation: int = Field(3, gt=0)  # this many tiny detections give strength 1
    disagreement_iou: float = Field(0.5, gt=0, le=1)  # same sign in two backends: same class, IoU >= this
    disagreement_saturation: int = Field(2, gt=0)  # this many disagreements give strength 1
    duplicate_distance: int = Field(8, ge=0, le=64)  # perceptual-hash bits: closer images are one scene (as data check)
    reason_strength: float = Field(0.3, ge=0, le=1)  # signals at least this strong are written as reasons
    batch_size: int = Field(4, gt=0)
