"""Tiny conv detectors exported to ONNX with exactly the output layouts of real third-party families.

They stand in for Ultralytics and MMDetection/torchvision exports so the tests need neither: a YOLO
raw head (1, 4 + C, N), a YOLO end-to-end output (1, K, 6) with the selection done in the graph
(top-k), three named boxes/scores/labels outputs, and TensorRT EfficientNMS's four outputs. Weights are
seeded, so every file is the same on every run.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from tests.models.shapes import SHAPE_CLASSES

INPUT = 64
STRIDE = 8
KEEP = 20  # candidates kept by the in-graph selection of the end-to-end forms

LAYOUTS = {
    "yolo_raw": {"layout": "yolo_raw", "predictions": "output0"},
    "yolo_end_to_end": {"layout": "yolo_end_to_end", "predictions": "output0"},
    "boxes_scores_labels": {"layout": "boxes_scores_labels", "boxes": "boxes", "scores": "scores",
                            "labels": "labels", "box_units": "normalized"},
    "efficient_nms": {"layout": "efficient_nms", "num_dets": "num_dets", "boxes": "det_boxes",
                      "scores": "det_scores", "labels": "det_classes", "box_units": "pixels"},
}
FAMILY = {"yolo_raw": "yolo", "yolo_end_to_end": "yolo", "boxes_scores_labels": "boxes_scores_labels",
          "efficient_nms": "boxes_scores_labels"}


def _module(layout: str, num_classes: int, fault: str | None):
    import torch
    from torch import nn

    class TinyDetector(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 16, 3, 2, 1), nn.ReLU(),
                nn.Conv2d(16, 16, 3, 2, 1), nn.ReLU(), nn.Conv2d(16, 4 + num_classes, 1),
            )

        def raw(self, pixel_values):
            features = self.body(pixel_values)
            batch, _, height, width = features.shape
            gy, gx = torch.meshgrid(torch.arange(height, dtype=torch.float32),
                                    torch.arange(width, dtype=torch.float32), indexing="ij")
            cx = (gx + torch.sigmoid(features[:, 0])) * STRIDE
            cy = (gy + torch.sigmoid(features[:, 1])) * STRIDE
            w = torch.sigmoid(features[:, 2]) * 4 * STRIDE
            h = torch.sigmoid(features[:, 3]) * 4 * STRIDE
            if fault == "negative":
                w = -w
            if fault == "nan":
                cx = cx * torch.tensor(float("nan"))
            boxes = torch.stack([cx, cy, w, h], 1).flatten(2)
            scores = torch.sigmoid(features[:, 4:]).flatten(2)
            return torch.cat([boxes, scores], 1)  # (B, 4 + C, N)

        def selected(self, pixel_values):
            table = self.raw(pixel_values).transpose(1, 2)  # (B, N, 4 + C)
            conf, cls = table[..., 4:].max(-1)
            top, index = conf.topk(KEEP, dim=1)
            cxcywh = torch.gather(table[..., :4], 1, index.unsqueeze(-1).expand(-1, -1, 4))
            half = cxcywh[..., 2:] / 2
            xyxy = torch.cat([cxcywh[..., :2] - half, cxcywh[..., :2] + half], -1)
            return xyxy, top, torch.gather(cls, 1, index)

        def forward(self, pixel_values):
            if layout == "yolo_raw":
                return self.raw(pixel_values)
            xyxy, scores, labels = self.selected(pixel_values)
            if layout == "yolo_end_to_end":
                return torch.cat([xyxy, scores.unsqueeze(-1), labels.unsqueeze(-1).float()], -1)
            if layout == "boxes_scores_labels":
                return xyxy / INPUT, scores, labels
            count = (scores > 0.3).sum(1, keepdim=True).int()
            valid = (torch.arange(KEEP).unsqueeze(0) < count).float()
            return count, xyxy * valid.unsqueeze(-1), scores * valid, (labels * valid.long()).int()

    torch.manual_seed(0)
    return TinyDetector().eval()


def export_family_onnx(path: Path, layout: str, num_classes: int = len(SHAPE_CLASSES), *,
                       fault: str | None = None, two_inputs: bool = False) -> Path:
    """Write a tiny detector with `layout`'s outputs (fault: None, 'nan' or 'negative') to `path`."""
    import torch

    module = _module(layout, num_classes, fault)
    names = list(LAYOUTS[layout].values())[1:]
    names = [n for n in names if n not in ("normalized", "pixels")]
    sample = torch.rand(1, 3, INPUT, INPUT, generator=torch.Generator().manual_seed(0))
    args, inputs = (sample,), ["images"]
    if two_inputs:
        class TwoInputs(torch.nn.Module):
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, a, b):
                return self.inner(a + b)

        module, args, inputs = TwoInputs(module), (sample, sample), ["images", "images2"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, str(path), dynamo=False, opset_version=17, input_names=inputs,
                          output_names=names)
    return path


def family_card(layout: str, *, name: str = "tiny", resize: str = "letterbox", num_classes: int | None = None,
                outputs: dict | None = None, family: str | None = None) -> dict:
    """The card a user writes for one of these models (weights are filled in by ingest)."""
    classes = list(SHAPE_CLASSES) if num_classes is None else [f"class_{i}" for i in range(num_classes)]
    preprocessing = {"input_size": [INPUT, INPUT], "resize": resize, "pad_value": 114, "stride": 32}
    if resize == "letterbox":
        preprocessing["letterbox_align"] = "center"
    if resize == "tiles":
        preprocessing["tile_overlap"] = 8
    return {
        "name": name,
        "architecture": {"family": family or FAMILY[layout], "format": "onnx",
                         "outputs": outputs or LAYOUTS[layout]},
        "class_names": classes,
        "preprocessing": preprocessing,
        "postprocessing": {"score_threshold": 0.001, "operating_threshold": 0.5, "top_k": 100, "nms_iou": 0.7},
    }


def write_card(path: Path, card: dict) -> Path:
    path.write_text(json.dumps(card), encoding="utf-8")
    return path
