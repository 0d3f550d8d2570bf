"""Real errors on labelled images, read off gate.eval's matching: misses, confusions, false positives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gate.backends.detections import Detections
from gate.data.coco import CocoAnnotation, CocoCategory
from gate.errors import InputError
from gate.mining.labelled import LabelledImage, labelled_classes, labelled_errors, labelled_view
from gate.mining.pool import PoolLabels

NAMES = ["speed_limit_30", "speed_limit_80", "stop", "pedestrians"]
CATEGORIES = [CocoCategory(id=10 + i, name=n) for i, n in enumerate(NAMES)]  # ids differ from label indices
A = [10.0, 10.0, 30.0, 30.0]  # xywh
B = [100.0, 10.0, 30.0, 30.0]


def ann(ann_id, image_id, name, bbox, **extra):
    return CocoAnnotation(id=ann_id, image_id=image_id, category_id=10 + NAMES.index(name), bbox=bbox,
                          area=bbox[2] * bbox[3], **extra)


def dets(image_id, rows):
    array = np.asarray(rows, dtype=np.float64).reshape(-1, 6)
    return Detections(image_id, array[:, :4], array[:, 4], array[:, 5].astype(np.int64))


def xyxy(box):
    return (box[0], box[1], box[0] + box[2], box[1] + box[3])


def test_misses_confusions_and_false_positives():
    labels = PoolLabels(path=Path("labels.json"), sha256="0" * 64, categories=CATEGORIES, by_image={
        1: [ann(1, 1, "stop", A), ann(2, 1, "speed_limit_30", B)],
        2: [ann(3, 2, "pedestrians", A)],
        3: [],
        4: [ann(4, 4, "stop", A, iscrowd=1, ignore=True)],
    })
    images = [
        LabelledImage(1, 200, 100, dets(1, [(*xyxy(A), 0.9, 2), (*xyxy(B), 0.8, 1)])),  # stop found, 30 read as 80
        LabelledImage(2, 200, 100, dets(2, [(*xyxy(A), 0.3, 3)])),  # found only below the threshold
        LabelledImage(3, 200, 100, dets(3, [(*xyxy(B), 0.7, 0)])),  # nothing there
        LabelledImage(4, 200, 100, dets(4, [(12, 12, 30, 30, 0.9, 2)])),  # inside an ignore region of its class
    ]
    view = labelled_view(labels, images, NAMES, None)
    errors = labelled_errors(view, images, threshold=0.5)
    assert (errors[1].labelled_signs, errors[1].missed) == (2, 1)
    assert errors[1].confusions == [("speed_limit_30", "speed_limit_80")]
    assert errors[1].false_positives == 0
    assert (errors[2].labelled_signs, errors[2].missed, errors[2].false_positives) == (1, 1, 0)
    assert (errors[3].labelled_signs, errors[3].missed, errors[3].false_positives) == (0, 0, 1)
    assert (errors[4].labelled_signs, errors[4].false_positives, errors[4].confusions) == (0, 0, [])
    assert labelled_classes(view) == {1: [2, 0], 2: [3], 3: [], 4: []}


def test_labels_without_the_model_classes_are_an_input_error():
    labels = PoolLabels(path=Path("other.json"), sha256="0" * 64,
                        categories=[CocoCategory(id=1, name="traffic_light")], by_image={1: []})
    with pytest.raises(InputError, match="neither categories nor supercategories"):
        labelled_view(labels, [LabelledImage(1, 50, 50, Detections.empty(1))], NAMES, None)
