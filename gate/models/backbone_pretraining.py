"""Backbone pretraining: teach the RT-DETR backbone what the signs look like before detection.

No pretrained weights can be downloaded here, and an RT-DETR trained from scratch spends most of
its time learning features: on the generated world (27 classes) 1,000 detection steps from scratch
reached validation AP50 0.03, while 1,000 steps after a 4-minute classification pretraining of the
backbone reached 0.15. So a recipe may ask for this stage: the backbone, with a temporary linear
head on its last feature map, learns to classify crops of the training split (each sign at its
native size, plus background windows as an extra class); the head is then dropped and detection
training starts from the pretrained backbone.

Crops come from the same training images, classes and photometric augmentation as the detection
stage; every random draw of step `s` comes from a generator seeded with (seed, s), so the stage is
deterministic like the rest of training.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from gate.backends.preprocess import crop_pad, resize_rgb, to_model_input
from gate.data.dataset import read_rgb
from gate.models.augment import photometric
from gate.cards.card import PreprocessingSpec
from gate.cards.recipe import BackbonePretrainingSection, PhotometricSection


class DecodedImageCache:
    """Decoded RGB images kept in memory up to a byte budget (least recently used dropped first)."""

    def __init__(self, max_bytes: int = 1 << 30):
        self.max_bytes = max_bytes
        self._images: OrderedDict[Path, np.ndarray] = OrderedDict()
        self._bytes = 0

    def get(self, path: Path) -> np.ndarray:
        if path in self._images:
            self._images.move_to_end(path)
            return self._images[path]
        image = read_rgb(path)
        self._images[path] = image
        self._bytes += image.nbytes
        while self._bytes > self.max_bytes and len(self._images) > 1:
            _, dropped = self._images.popitem(last=False)
            self._bytes -= dropped.nbytes
        return image


def _sign_crop(image: np.ndarray, box: np.ndarray, settings: BackbonePretrainingSection,
               interpolation: str, rng: np.random.Generator) -> np.ndarray:
    """A crop_size window around a sign at (jittered) native scale; large signs are shrunk to fit."""
    size = settings.crop_size
    side = float(max(box[2] - box[0], box[3] - box[1], 1.0))
    low, high = settings.scale_jitter
    scale = float(math.exp(rng.uniform(math.log(low), math.log(high))))
    scale = min(scale, 0.875 * size / side)
    shift = rng.uniform(-0.25, 0.25, size=2) * side
    cx, cy = (box[0] + box[2]) / 2 + shift[0], (box[1] + box[3]) / 2 + shift[1]
    if abs(scale - 1.0) > 1e-6:
        height, width = image.shape[:2]
        new_h, new_w = max(1, round(height * scale)), max(1, round(width * scale))
        image = resize_rgb(image, (new_h, new_w), interpolation)
        cx, cy = cx * new_w / width, cy * new_h / height
    return crop_pad(image, int(round(cx - size / 2)), int(round(cy - size / 2)), size, size, 0)


def _background_crop(image: np.ndarray, boxes: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray | None:
    """A crop_size window whose centre region holds no sign centre (None if the draw hits a sign)."""
    height, width = image.shape[:2]
    x0 = int(rng.integers(0, max(1, width - size + 1)))
    y0 = int(rng.integers(0, max(1, height - size + 1)))
    if len(boxes):
        cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
        if ((cx >= x0) & (cx < x0 + size) & (cy >= y0) & (cy < y0 + size)).any():
            return None
    return crop_pad(image, x0, y0, size, size, 0)


def pretrain_backbone(
    model,
    paths: list[Path],
    boxes: list[np.ndarray],
    labels: list[np.ndarray],
    num_classes: int,
    spec: PreprocessingSpec,
    settings: BackbonePretrainingSection,
    photometric_settings: PhotometricSection,
    rng_for_step: Callable[[int], np.random.Generator],
    progress: bool = True,
) -> dict[str, Any]:
    """Train `model.model.backbone` to classify sign crops (num_classes + background); returns a summary.

    Signs are drawn class-balanced (a class uniformly, then one of its signs), so rare classes are
    seen as often as common ones; `background_fraction` of each batch are sign-free windows.
    """
    import torch
    from tqdm import tqdm

    backbone = model.model.backbone
    width = int(model.config.backbone_config.hidden_sizes[-1])
    generator = torch.Generator().manual_seed(int(rng_for_step(settings.steps).integers(2**62)))
    head = torch.nn.Linear(width, num_classes + 1)
    with torch.no_grad():  # seeded init of the temporary head (independent of the global RNG)
        bound = 1.0 / math.sqrt(width)
        head.weight.copy_(torch.rand(head.weight.shape, generator=generator) * 2 * bound - bound)
        head.bias.copy_(torch.rand(head.bias.shape, generator=generator) * 2 * bound - bound)
    params = [p for p in backbone.parameters() if p.requires_grad] + list(head.parameters())
    optimizer = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)

    def factor(step: int) -> float:
        if step < settings.warmup_steps:
            return (step + 1) / settings.warmup_steps
        progress_fraction = (step - settings.warmup_steps) / max(1, settings.steps - settings.warmup_steps)
        return 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress_fraction)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    by_class: list[list[tuple[int, int]]] = [[] for _ in range(num_classes)]
    for image_index, image_labels in enumerate(labels):
        for sign_index, label in enumerate(image_labels.tolist()):
            by_class[label].append((image_index, sign_index))
    present = [c for c in range(num_classes) if by_class[c]]
    cache = DecodedImageCache()
    size = settings.crop_size
    accuracy: list[float] = []
    backbone.train()
    bar = tqdm(range(settings.steps), desc="backbone pretraining", disable=not progress, unit="step",
               dynamic_ncols=True)
    for step in bar:
        rng = rng_for_step(step)
        crops, targets = [], []
        while len(crops) < settings.batch_size:
            if rng.random() < settings.background_fraction:
                index = int(rng.integers(len(paths)))
                crop = _background_crop(cache.get(paths[index]), boxes[index], size, rng)
                if crop is None:
                    continue
                target = num_classes
            else:
                label = present[int(rng.integers(len(present)))]
                image_index, sign_index = by_class[label][int(rng.integers(len(by_class[label])))]
                crop = _sign_crop(cache.get(paths[image_index]), boxes[image_index][sign_index], settings,
                                  spec.interpolation, rng)
                target = label
            crops.append(photometric(crop, photometric_settings, rng))
            targets.append(target)
        pixels = torch.from_numpy(to_model_input(np.stack(crops), spec).astype(np.float32))
        mask = torch.ones((pixels.shape[0], size, size), dtype=torch.long)
        features = backbone(pixels, mask)[-1][0]
        logits = head(features.mean(dim=(2, 3)))
        target_tensor = torch.as_tensor(targets)
        loss = torch.nn.functional.cross_entropy(logits, target_tensor)
        loss.backward()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        accuracy.append(float((logits.argmax(1) == target_tensor).float().mean()))
        bar.set_postfix(loss=f"{loss.item():.3f}", acc=f"{np.mean(accuracy[-50:]):.2f}")
    bar.close()
    return {
        "steps": settings.steps,
        "batch_size": settings.batch_size,
        "crop_size": size,
        "classes": num_classes + 1,
        "final_train_accuracy": round(float(np.mean(accuracy[-100:])), 4) if accuracy else None,
    }
