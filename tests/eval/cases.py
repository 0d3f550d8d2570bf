"""Random COCO cases for the evaluation tests, and pycocotools as the reference (in memory, quiet)."""

from __future__ import annotations

import contextlib
import io

import numpy as np

from gate.data.coco import CocoDataset


def random_case(rng: np.random.Generator, *, force_many_dets: bool = False, gt_per_class: int | None = None):
    """A small random COCO case: ground-truth dict and results list.

    Covers many classes (non-contiguous ids, some without ground truth), empty images, images
    without predictions, tied scores (quantised, also within one image), crowd/ignore regions,
    tiny boxes, integer boxes, `area` fields that differ from w * h, confusions, background, and
    (sometimes) more than 100 detections of one class in one image.
    """
    n_img = int(rng.integers(1, 10))
    n_cls = int(rng.integers(1, 9))
    cat_ids = sorted(rng.choice(np.arange(1, 40), n_cls, replace=False).tolist())
    img_ids = sorted(rng.choice(np.arange(1, 500), n_img, replace=False).tolist())
    images = [{"id": i, "file_name": f"{i}.jpg", "width": 640, "height": 480} for i in rng.permutation(img_ids).tolist()]
    anns, dets = [], []
    quantise = rng.random() < 0.4
    gt_classes = cat_ids if rng.random() < 0.7 else cat_ids[: max(1, n_cls - 2)]  # some classes without gt
    many = force_many_dets or rng.random() < 0.05
    for i in img_ids:
        if rng.random() < 0.15:
            continue  # empty image (may still get background predictions below)
        n_gt = int(rng.integers(0, 8)) if gt_per_class is None else gt_per_class
        for _ in range(n_gt):
            s = float(np.exp(rng.uniform(np.log(1.5), np.log(220))))
            w, h = s * rng.uniform(0.7, 1.3), s * rng.uniform(0.7, 1.3)
            x, y = rng.uniform(0, 500), rng.uniform(0, 400)
            if rng.random() < 0.3:
                x, y, w, h = round(x), round(y), max(1, round(w)), max(1, round(h))
            c = int(rng.choice(gt_classes))
            crowd = rng.random() < 0.1
            area = w * h if rng.random() < 0.8 else w * h * rng.uniform(0.4, 1.3)
            ann = {"id": len(anns) + 1, "image_id": i, "category_id": c, "bbox": [x, y, w, h], "area": area,
                   "iscrowd": int(crowd)}
            if crowd:
                ann["ignore"] = True
            anns.append(ann)
            if rng.random() < 0.1:
                continue  # missed entirely
            for _ in range(int(rng.integers(1, 4))):
                j = rng.normal(0, 0.15 * s, 4)
                cc = c if rng.random() < 0.8 else int(rng.choice(cat_ids))
                dets.append({"image_id": i, "category_id": cc,
                             "bbox": [x + j[0], y + j[1], max(0.5, w + j[2]), max(0.5, h + j[3])],
                             "score": float(rng.random())})
        if rng.random() < 0.2:
            continue  # image without background predictions
        n_bg = 130 if many else int(rng.integers(0, 6))
        c0 = int(rng.choice(cat_ids))
        for _ in range(n_bg):
            s = float(np.exp(rng.uniform(np.log(1.5), np.log(150))))
            dets.append({"image_id": i, "category_id": c0 if n_bg > 100 else int(rng.choice(cat_ids)),
                         "bbox": [rng.uniform(0, 500), rng.uniform(0, 400), s, s * rng.uniform(0.7, 1.3)],
                         "score": float(rng.random())})
    if quantise:
        for d in dets:
            d["score"] = round(d["score"] * 4) / 4
    dets = [dets[k] for k in rng.permutation(len(dets))]
    cats = [{"id": c, "name": f"class_{c}"} for c in cat_ids]
    return {"images": images, "annotations": anns, "categories": cats}, dets


def dataset(gt_dict) -> CocoDataset:
    return CocoDataset.model_validate(gt_dict)


def pycocotools_eval(gt_dict, dets, area_ranges=None):
    """pycocotools' COCOeval (bbox) after evaluate + accumulate + summarize, without its prints."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {k: [dict(x) for x in v] if isinstance(v, list) else v for k, v in gt_dict.items()}
        gt.createIndex()
        dt = gt.loadRes([dict(d, bbox=list(d["bbox"])) for d in dets])
        ev = COCOeval(gt, dt, "bbox")
        if area_ranges is not None:
            ev.params.areaRng = [list(r) for r in area_ranges]
            ev.params.areaRngLbl = [f"r{i}" for i in range(len(area_ranges))]
        ev.evaluate()
        ev.accumulate()
        if area_ranges is None:
            ev.summarize()
    return ev


def resampled_case(gt_dict, dets, draw: np.ndarray):
    """The dataset holding image `sorted_ids[i]` once per occurrence of i in `draw`: copies listed
    next to each other in the original image order, each a new image with its own id."""
    ids = sorted(img["id"] for img in gt_dict["images"])
    anns_by_image: dict[int, list] = {}
    dets_by_image: dict[int, list] = {}
    for a in gt_dict["annotations"]:
        anns_by_image.setdefault(a["image_id"], []).append(a)
    for d in dets:
        dets_by_image.setdefault(d["image_id"], []).append(d)
    images, anns, new_dets = [], [], []
    for new_id, i in enumerate(np.sort(draw), start=1):
        old = ids[i]
        images.append({"id": new_id, "file_name": f"{new_id}.jpg", "width": 640, "height": 480})
        start = len(anns)
        anns.extend([dict(a, id=start + k + 1, image_id=new_id) for k, a in enumerate(anns_by_image.get(old, []))])
        new_dets.extend(dict(d, image_id=new_id) for d in dets_by_image.get(old, []))
    return {"images": images, "annotations": anns, "categories": gt_dict["categories"]}, new_dets


CLASSES = ["stop", "give_way", "speed_limit_30", "speed_limit_80", "no_entry"]


def traffic_scene(seed=0, n_images=240):
    """Ground truth with ~3 signs per image and a decent detector's predictions, per gt box."""
    rng = np.random.default_rng(seed)
    images, anns, dets = [], [], []
    for i in range(1, n_images + 1):
        images.append({"id": i, "file_name": f"{i}.jpg", "width": 800, "height": 600})
        for _ in range(rng.integers(1, 5)):
            c = int(rng.integers(1, len(CLASSES) + 1))
            s = float(rng.uniform(10, 120))
            x, y = float(rng.uniform(0, 650)), float(rng.uniform(0, 450))
            anns.append({"id": len(anns) + 1, "image_id": i, "category_id": c, "bbox": [x, y, s, s], "area": s * s,
                         "iscrowd": 0})
            if rng.random() < 0.9:
                j = rng.normal(0, 0.05 * s, 4)
                dets.append({"image_id": i, "category_id": c, "bbox": [x + j[0], y + j[1], s + j[2], s + j[3]],
                             "score": float(rng.uniform(0.55, 1.0)), "_gt_class": c})
        for _ in range(rng.integers(0, 3)):
            dets.append({"image_id": i, "category_id": int(rng.integers(1, len(CLASSES) + 1)),
                         "bbox": [float(rng.uniform(0, 700)), float(rng.uniform(0, 500)), 30.0, 30.0],
                         "score": float(rng.uniform(0.0, 0.6)), "_gt_class": 0})
    gt = dataset({"images": images, "annotations": anns,
                  "categories": [{"id": k, "name": n} for k, n in enumerate(CLASSES, start=1)]})
    return gt, dets


def without_private_keys(dets):
    """The results list without the generator's bookkeeping keys (like `_gt_class`)."""
    return [{k: v for k, v in d.items() if not k.startswith("_")} for d in dets]
