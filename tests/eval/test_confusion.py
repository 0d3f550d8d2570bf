"""The confusion matrix with background: which sign is read as which."""

from __future__ import annotations

import pytest

from gate.eval import confusion_matrix, match
from tests.eval.cases import dataset

NAMES = {1: "speed_limit_30", 2: "speed_limit_80", 3: "stop"}


def _case(anns, dets):
    gt = dataset({
        "images": [{"id": 1, "file_name": "a.jpg", "width": 640, "height": 480},
                   {"id": 2, "file_name": "b.jpg", "width": 640, "height": 480}],
        "annotations": [dict({"id": i, "image_id": 1, "iscrowd": 0}, area=a["bbox"][2] * a["bbox"][3], **a)
                        for i, a in enumerate(anns, start=1)],
        "categories": [{"id": c, "name": n} for c, n in NAMES.items()],
    })
    return match(gt, [dict({"image_id": 1}, **d) for d in dets])


def test_thirty_read_as_eighty_lands_in_its_cell():
    records = _case([{"category_id": 1, "bbox": [10, 10, 40, 40]}],
                    [{"category_id": 2, "bbox": [11, 11, 40, 40], "score": 0.9}])
    cm = confusion_matrix(records, 0.5)
    assert cm.count("speed_limit_30", "speed_limit_80") == 1
    assert cm.pairs()[0].truth == "speed_limit_30" and cm.pairs()[0].rate == 1.0


def test_missed_sign_goes_to_the_background_column():
    records = _case([{"category_id": 3, "bbox": [10, 10, 40, 40]}], [])
    assert confusion_matrix(records, 0.5).count("stop", "background") == 1


def test_false_positive_goes_to_the_background_row():
    records = _case([], [{"category_id": 3, "bbox": [10, 10, 40, 40], "score": 0.9}])
    assert confusion_matrix(records, 0.5).count("background", "stop") == 1


def test_correct_detection_is_on_the_diagonal():
    records = _case([{"category_id": 3, "bbox": [10, 10, 40, 40]}],
                    [{"category_id": 3, "bbox": [10, 10, 40, 40], "score": 0.9}])
    cm = confusion_matrix(records, 0.5)
    assert cm.count("stop", "stop") == 1 and cm.pairs() == []


def test_detections_below_the_threshold_do_not_count():
    records = _case([{"category_id": 1, "bbox": [10, 10, 40, 40]}],
                    [{"category_id": 2, "bbox": [10, 10, 40, 40], "score": 0.3}])
    cm = confusion_matrix(records, 0.5)
    assert cm.count("speed_limit_30", "speed_limit_80") == 0
    assert cm.count("speed_limit_30", "background") == 1
    assert confusion_matrix(records, 0.2).count("speed_limit_30", "speed_limit_80") == 1


def test_higher_scoring_wrong_class_takes_the_sign_class_agnostically():
    records = _case([{"category_id": 1, "bbox": [10, 10, 40, 40]}],
                    [{"category_id": 2, "bbox": [10, 10, 40, 40], "score": 0.9},
                     {"category_id": 1, "bbox": [10, 10, 40, 40], "score": 0.8}])
    cm = confusion_matrix(records, 0.5)
    assert cm.count("speed_limit_30", "speed_limit_80") == 1
    assert cm.count("background", "speed_limit_30") == 1  # the duplicate, now unmatched


def test_detection_inside_an_ignore_region_is_not_a_background_error():
    records = _case([{"category_id": 3, "bbox": [0, 0, 200, 200], "iscrowd": 1, "ignore": True}],
                    [{"category_id": 3, "bbox": [10, 10, 40, 40], "score": 0.9}])
    cm = confusion_matrix(records, 0.5)
    assert sum(map(sum, cm.counts)) == 0


def test_rows_sum_to_the_ground_truth_count():
    records = _case([{"category_id": 1, "bbox": [10, 10, 40, 40]}, {"category_id": 1, "bbox": [100, 100, 40, 40]},
                     {"category_id": 2, "bbox": [200, 200, 40, 40]}],
                    [{"category_id": 2, "bbox": [10, 10, 40, 40], "score": 0.9},
                     {"category_id": 2, "bbox": [200, 200, 40, 40], "score": 0.9}])
    cm = confusion_matrix(records, 0.5)
    assert sum(cm.counts[0]) == 2 and sum(cm.counts[1]) == 1
    assert cm.pairs()[0].rate == pytest.approx(0.5)
