"""`tsrgate data import {gtsdb,voc,yolo,coco}` on small source folders built here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gate.data.check import check_dataset
from gate.data.coco import load_coco
from gate.data.importers import FORMATS, import_dataset
from gate.data.importers.gtsdb import GTSDB_CLASSES
from gate.errors import InputError, RefusedError
from gate.storage import sha256_file
from tests.data.conftest import save_picture


def load_output(out: Path):
    return load_coco(out / "annotations.json")


def boxes(dataset) -> list[tuple[str, int, list[float]]]:
    """(image file, category id, bbox) for every annotation, in file order."""
    names = {image.id: image.file_name for image in dataset.images}
    return [(names[a.image_id], a.category_id, a.bbox) for a in dataset.annotations]


def assert_one_line_error(result, expected_start: str, out: Path) -> None:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"error: {expected_start}"), lines[0]
    assert "Traceback" not in result.output
    assert not out.exists()  # nothing half-written
    assert not list(out.parent.glob(f".{out.name}.*"))  # no staging leftovers


def test_registry_lists_the_four_formats():
    assert FORMATS == ("gtsdb", "voc", "yolo", "coco")


# --- GTSDB -----------------------------------------------------------------------------------------


@pytest.fixture()
def gtsdb_src(tmp_path: Path) -> Path:
    src = tmp_path / "FullIJCNN"
    for seed, name in enumerate(["00000.ppm", "00001.ppm", "00650.ppm"], start=1):
        save_picture(src / name, seed, 136, 80, format="PPM")
    (src / "gt.txt").write_text(
        "00000.ppm;10;5;30;25;38\n"  # keep_right
        "00000.ppm;40;10;56;22;1\n"  # speed_limit_30
        "00650.ppm;0;0;136;80;14\n"  # stop, the whole frame (x2 = width allowed)
    )
    return src


def test_gtsdb_import_gives_exact_boxes_classes_and_splits(run_cli, gtsdb_src, tmp_path):
    out = tmp_path / "out"
    result = run_cli("data", "import", "gtsdb", gtsdb_src, out)
    assert result.exit_code == 0, result.output
    assert "imported 3 images, 3 annotations" in result.output
    dataset = load_output(out)
    assert [(c.id, c.name, c.supercategory) for c in dataset.categories][:3] == [
        (1, "speed_limit_20", "prohibitory"),
        (2, "speed_limit_30", "prohibitory"),
        (3, "speed_limit_50", "prohibitory"),
    ]
    names = {c.id: c.name for c in dataset.categories}
    assert len(names) == 43 and names[39] == "keep_right" and names[15] == "stop"
    assert boxes(dataset) == [
        ("00000.png", 39, [10.0, 5.0, 20.0, 20.0]),
        ("00000.png", 2, [40.0, 10.0, 16.0, 12.0]),
        ("00650.png", 15, [0.0, 0.0, 136.0, 80.0]),
    ]
    assert [(i.file_name, i.width, i.height, i.tags) for i in dataset.images] == [
        ("00000.png", 136, 80, {"split": "train"}),
        ("00001.png", 136, 80, {"split": "train"}),  # no boxes, still an image
        ("00650.png", 136, 80, {"split": "test"}),
    ]
    assert dataset.annotations[0].model_extra["original_bbox_xyxy"] == [10, 5, 30, 25]


def test_gtsdb_frames_are_stored_losslessly(gtsdb_src, tmp_path):
    import_dataset("gtsdb", gtsdb_src, tmp_path / "out")
    original = np.asarray(Image.open(gtsdb_src / "00001.ppm").convert("RGB"))
    stored = np.asarray(Image.open(tmp_path / "out" / "images" / "00001.png").convert("RGB"))
    assert np.array_equal(original, stored)


def test_gtsdb_import_is_byte_identical_twice(gtsdb_src, tmp_path):
    import_dataset("gtsdb", gtsdb_src, tmp_path / "a")
    import_dataset("gtsdb", gtsdb_src, tmp_path / "b")
    for rel in ["annotations.json", "images/00000.png", "images/00650.png"]:
        assert sha256_file(tmp_path / "a" / rel) == sha256_file(tmp_path / "b" / rel)


def test_gtsdb_import_passes_data_check(gtsdb_src, tmp_path):
    import_dataset("gtsdb", gtsdb_src, tmp_path / "out")
    report = check_dataset(tmp_path / "out")
    assert report.clean, [p.line() for p in report.problems]
    assert report.statistics.boxes == 3


def test_gtsdb_class_table_matches_the_shared_dataset(gtsdb_path):
    shared = load_coco(gtsdb_path / "annotations.json")
    assert [(c.name, c.supercategory) for c in sorted(shared.categories, key=lambda c: c.id)] == list(GTSDB_CLASSES)


def test_gtsdb_import_lines_up_with_the_shared_copy(gtsdb_path, tmp_path):
    # Rebuild three original-layout frames (1360x800 PPM) and their gt.txt lines from the shared
    # copy's records; the import scaled by 0.6 must give the shared boxes, classes and splits.
    shared = load_coco(gtsdb_path / "annotations.json")
    wanted = {"gtsdb_00000.jpg", "gtsdb_00340.jpg", "gtsdb_00650.jpg"}
    images = [image for image in shared.images if image.file_name in wanted]
    src = tmp_path / "FullIJCNN"
    src.mkdir()
    lines = []
    for image in images:
        frame = image.model_extra["original_file_name"]
        Image.open(gtsdb_path / "images" / image.file_name).resize((1360, 800)).save(src / frame)
        for ann in shared.annotations_by_image()[image.id]:
            x1, y1, x2, y2 = ann.model_extra["original_bbox_xyxy"]
            lines.append(f"{frame};{x1};{y1};{x2};{y2};{ann.category_id - 1}")
    (src / "gt.txt").write_text("\n".join(lines) + "\n")
    import_dataset("gtsdb", src, tmp_path / "out")
    imported = load_output(tmp_path / "out")

    def scaled(dataset, factor):
        by_id = {image.id: image.model_extra["original_file_name"] for image in dataset.images}
        rows = [(by_id[a.image_id], a.category_id, [round(v * factor, 2) for v in a.bbox]) for a in dataset.annotations]
        return sorted(rows)

    frames = {image.model_extra["original_file_name"] for image in images}
    expected = [row for row in scaled(shared, 1.0) if row[0] in frames]
    assert scaled(imported, 0.6) == expected
    assert len(expected) == 6  # including the stop sign that gt.txt lists twice
    assert [i.tag("split") for i in imported.images] == [i.tag("gtsdb_split") for i in images]


@pytest.mark.parametrize(
    ("gt_line", "problem"),
    [
        ("00000.ppm;10;5;30;25", "gt.txt:2: expected 6 fields (file;x1;y1;x2;y2;classId), got 5"),
        ("00000.ppm;10;5;thirty;25;1", "gt.txt:2: x2 must be an integer, got 'thirty'"),
        ("00999.ppm;10;5;30;25;1", "gt.txt:2: unknown image '00999.ppm'"),
        ("00000.ppm;10;5;30;25;43", "gt.txt:2: classId 43 out of range 0-42"),
        ("00000.ppm;30;5;10;25;1", "gt.txt:2: box has zero or negative size"),
        ("00000.ppm;100;5;140;25;1", "gt.txt:2: box (100,5)-(140,25) lies outside the 136x80 frame"),
    ],
)
def test_gtsdb_bad_line_is_one_line_error_naming_file_and_line(run_cli, gtsdb_src, tmp_path, gt_line, problem):
    (gtsdb_src / "gt.txt").write_text("00000.ppm;10;5;30;25;38\n" + gt_line + "\n")
    out = tmp_path / "out"
    result = run_cli("data", "import", "gtsdb", gtsdb_src, out)
    assert_one_line_error(result, f"{gtsdb_src}/{problem}", out)


def test_gtsdb_without_gt_txt(run_cli, gtsdb_src, tmp_path):
    (gtsdb_src / "gt.txt").unlink()
    result = run_cli("data", "import", "gtsdb", gtsdb_src, tmp_path / "out")
    assert_one_line_error(result, f"{gtsdb_src}: no gt.txt", tmp_path / "out")


def test_gtsdb_unreadable_frame(run_cli, gtsdb_src, tmp_path):
    (gtsdb_src / "00001.ppm").write_bytes(b"P6\n136 80\n255\n" + b"\x00" * 100)
    result = run_cli("data", "import", "gtsdb", gtsdb_src, tmp_path / "out")
    assert_one_line_error(result, f"{gtsdb_src / '00001.ppm'}: unreadable frame", tmp_path / "out")


# --- output folder handling ---------------------------------------------------------------------------


def test_existing_output_is_refused_without_force(run_cli, gtsdb_src, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    result = run_cli("data", "import", "gtsdb", gtsdb_src, out)
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {out}: already exists; pass --force to replace it"
    assert (out / "keep.txt").read_text() == "precious"


def test_force_replaces_the_output(run_cli, gtsdb_src, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    result = run_cli("data", "import", "gtsdb", gtsdb_src, out, "--force")
    assert result.exit_code == 0
    assert not (out / "old.txt").exists()
    assert (out / "annotations.json").is_file()


def test_failed_import_with_force_keeps_the_previous_output(gtsdb_src, tmp_path):
    out = tmp_path / "out"
    import_dataset("gtsdb", gtsdb_src, out)
    before = sha256_file(out / "annotations.json")
    (gtsdb_src / "gt.txt").write_text("broken\n")
    with pytest.raises(InputError):
        import_dataset("gtsdb", gtsdb_src, out, force=True)
    assert sha256_file(out / "annotations.json") == before


def test_output_inside_the_source_is_refused(gtsdb_src):
    with pytest.raises(InputError, match="must not be, contain or lie inside the source"):
        import_dataset("gtsdb", gtsdb_src, gtsdb_src / "converted")


def test_output_containing_the_source_is_refused(gtsdb_src):
    with pytest.raises(InputError, match="must not be, contain or lie inside the source"):
        import_dataset("gtsdb", gtsdb_src, gtsdb_src.parent, force=True)
    assert (gtsdb_src / "gt.txt").is_file()


def test_option_for_another_format_is_refused(run_cli, gtsdb_src, tmp_path):
    result = run_cli("data", "import", "gtsdb", gtsdb_src, tmp_path / "out", "--classes", gtsdb_src / "gt.txt")
    assert result.exit_code == 2
    assert "option classes_file does not apply to the gtsdb importer" in result.output


def test_refused_error_type(gtsdb_src, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x").write_text("x")
    with pytest.raises(RefusedError):
        import_dataset("gtsdb", gtsdb_src, tmp_path / "out")


# --- Pascal VOC ---------------------------------------------------------------------------------------

VOC_A = """<annotation>
  <folder>VOC</folder>
  <filename>a.jpg</filename>
  <size><width>100</width><height>80</height><depth>3</depth></size>
  <object>
    <name>dog</name>
    <truncated>0</truncated>
    <difficult>0</difficult>
    <bndbox><xmin>11</xmin><ymin>21</ymin><xmax>40</xmax><ymax>50</ymax></bndbox>
  </object>
  <object>
    <name>cat</name>
    <truncated>1</truncated>
    <difficult>1</difficult>
    <bndbox><xmin>1</xmin><ymin>1</ymin><xmax>100</xmax><ymax>80</ymax></bndbox>
  </object>
</annotation>
"""
VOC_B = """<annotation>
  <filename>b.jpg</filename>
  <size><width>64</width><height>48</height><depth>3</depth></size>
</annotation>
"""


@pytest.fixture()
def voc_src(tmp_path: Path) -> Path:
    src = tmp_path / "VOC"
    save_picture(src / "JPEGImages" / "a.jpg", 1, 100, 80)
    save_picture(src / "JPEGImages" / "b.jpg", 2, 64, 48)
    (src / "Annotations").mkdir()
    (src / "Annotations" / "a.xml").write_text(VOC_A)
    (src / "Annotations" / "b.xml").write_text(VOC_B)
    return src


def test_voc_import_gives_exact_boxes_and_ignore_regions(run_cli, voc_src, tmp_path):
    out = tmp_path / "out"
    result = run_cli("data", "import", "voc", voc_src, out)
    assert result.exit_code == 0, result.output
    dataset = load_output(out)
    assert [(c.id, c.name) for c in dataset.categories] == [(1, "cat"), (2, "dog")]  # sorted names
    assert boxes(dataset) == [("a.jpg", 2, [10.0, 20.0, 30.0, 30.0]), ("a.jpg", 1, [0.0, 0.0, 100.0, 80.0])]
    dog, cat = dataset.annotations
    assert (dog.iscrowd, dog.ignore, dog.attributes) == (0, False, {"truncated": 0.0})
    assert (cat.iscrowd, cat.ignore, cat.attributes) == (1, True, {"truncated": 1.0})
    assert [(i.file_name, i.width, i.height) for i in dataset.images] == [("a.jpg", 100, 80), ("b.jpg", 64, 48)]
    # images are copied byte for byte
    assert sha256_file(out / "images" / "a.jpg") == sha256_file(voc_src / "JPEGImages" / "a.jpg")


def test_voc_classes_file_fixes_the_ids(voc_src, tmp_path):
    classes = tmp_path / "classes.txt"
    classes.write_text("# VOC subset\ndog\ncat\nbird\n")
    import_dataset("voc", voc_src, tmp_path / "out", classes_file=classes)
    dataset = load_output(tmp_path / "out")
    assert [(c.id, c.name) for c in dataset.categories] == [(1, "dog"), (2, "cat"), (3, "bird")]
    assert [a.category_id for a in dataset.annotations] == [1, 2]


@pytest.mark.parametrize(
    ("before", "after", "problem"),
    [
        ("</annotation>", "", "a.xml:18: not valid XML (no element found)"),
        ("<xmin>11</xmin>", "", "a.xml:9: <bndbox> has no <xmin>"),
        ("<xmin>11</xmin>", "<xmin>eleven</xmin>", "a.xml:9: <xmin> must be a number"),
        ("<xmax>40</xmax>", "<xmax>5</xmax>", "a.xml:9: box has negative size"),
        ("<xmax>40</xmax>", "<xmax>150</xmax>", "a.xml:9: box (11.0,21.0)-(150.0,50.0) lies outside"),
        ("<width>100</width>", "<width>99</width>", "a.xml:4: <size> says 99x80 but JPEGImages/a.jpg is 100x80"),
        ("a.jpg", "missing.jpg", "a.xml:3: image JPEGImages/missing.jpg not found"),
        ("<difficult>0</difficult>", "<difficult>maybe</difficult>", "a.xml:8: <difficult> must be 0 or 1"),
    ],
)
def test_voc_bad_xml_is_one_line_error_naming_file_and_line(run_cli, voc_src, tmp_path, before, after, problem):
    path = voc_src / "Annotations" / "a.xml"
    path.write_text(path.read_text().replace(before, after))
    out = tmp_path / "out"
    assert_one_line_error(run_cli("data", "import", "voc", voc_src, out), f"{voc_src / 'Annotations'}/{problem}", out)


def test_voc_class_missing_from_classes_file(run_cli, voc_src, tmp_path):
    classes = tmp_path / "classes.txt"
    classes.write_text("dog\n")
    out = tmp_path / "out"
    result = run_cli("data", "import", "voc", voc_src, out, "--classes", classes)
    expected = f"{voc_src / 'Annotations' / 'a.xml'}:12: class 'cat' is not in the classes file"
    assert_one_line_error(result, expected, out)


def test_voc_missing_classes_file(run_cli, voc_src, tmp_path):
    out = tmp_path / "out"
    result = run_cli("data", "import", "voc", voc_src, out, "--classes", tmp_path / "nope.txt")
    assert_one_line_error(result, f"{tmp_path / 'nope.txt'}: class-names file not found", out)


def test_voc_without_annotations_folder(run_cli, tmp_path):
    (tmp_path / "empty").mkdir()
    result = run_cli("data", "import", "voc", tmp_path / "empty", tmp_path / "out")
    assert_one_line_error(result, f"{tmp_path / 'empty'}: no Annotations/ folder", tmp_path / "out")


# --- YOLO ------------------------------------------------------------------------------------------------


@pytest.fixture()
def yolo_src(tmp_path: Path) -> Path:
    src = tmp_path / "yolo"
    save_picture(src / "images" / "a.png", 1, 200, 100)
    save_picture(src / "images" / "sub" / "b.jpg", 2, 64, 64)
    save_picture(src / "images" / "c.png", 3, 50, 50)  # background image: no label file
    (src / "labels" / "sub").mkdir(parents=True)
    (src / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.4\n1 0.1 0.1 0.2 0.2\n")
    (src / "labels" / "sub" / "b.txt").write_text("1 0.25 0.75 0.5 0.5\n\n")
    (src / "classes.txt").write_text("stop\ngive_way\n")
    return src


def test_yolo_import_gives_exact_boxes(run_cli, yolo_src, tmp_path):
    out = tmp_path / "out"
    result = run_cli("data", "import", "yolo", yolo_src, out)
    assert result.exit_code == 0, result.output
    dataset = load_output(out)
    assert [(c.id, c.name) for c in dataset.categories] == [(1, "stop"), (2, "give_way")]
    assert boxes(dataset) == [
        ("a.png", 1, [80.0, 30.0, 40.0, 40.0]),
        ("a.png", 2, [0.0, 0.0, 40.0, 20.0]),
        ("sub/b.jpg", 2, [0.0, 32.0, 32.0, 32.0]),
    ]
    assert [i.file_name for i in dataset.images] == ["a.png", "c.png", "sub/b.jpg"]
    assert (out / "images" / "sub" / "b.jpg").is_file()
    assert check_dataset(out).statistics.images_without_boxes == 1


def test_yolo_names_from_data_yaml_mapping(yolo_src, tmp_path):
    (yolo_src / "classes.txt").unlink()
    (yolo_src / "data.yaml").write_text("path: .\nnames:\n  0: stop\n  1: give_way\n")
    import_dataset("yolo", yolo_src, tmp_path / "out")
    assert [c.name for c in load_output(tmp_path / "out").categories] == ["stop", "give_way"]


def test_yolo_names_file_option(yolo_src, tmp_path):
    names = tmp_path / "my.yaml"
    names.write_text("names: [halt, yield]\n")
    import_dataset("yolo", yolo_src, tmp_path / "out", classes_file=names)
    assert [c.name for c in load_output(tmp_path / "out").categories] == ["halt", "yield"]


@pytest.mark.parametrize(
    ("label", "problem"),
    [
        ("0 0.5 0.5 0.2 0.4 0.9", "a.txt:2: expected 5 fields (class cx cy w h), got 6"),
        ("2 0.5 0.5 0.2 0.4", "a.txt:2: class 2 out of range: the class-names file lists 2"),
        ("x 0.5 0.5 0.2 0.4", "a.txt:2: class must be an integer, got 'x'"),
        ("0 0.5 0.5 0 0.4", "a.txt:2: box has zero or negative size"),
        ("0 0.95 0.5 0.2 0.4", "a.txt:2: box lies outside the image"),
    ],
)
def test_yolo_bad_label_line_is_one_line_error(run_cli, yolo_src, tmp_path, label, problem):
    (yolo_src / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.4\n" + label + "\n")
    out = tmp_path / "out"
    assert_one_line_error(run_cli("data", "import", "yolo", yolo_src, out), f"{yolo_src / 'labels'}/{problem}", out)


def test_yolo_label_without_image(run_cli, yolo_src, tmp_path):
    (yolo_src / "labels" / "ghost.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    out = tmp_path / "out"
    result = run_cli("data", "import", "yolo", yolo_src, out)
    assert_one_line_error(result, f"{yolo_src / 'labels' / 'ghost.txt'}: no image for this label file", out)


def test_yolo_missing_class_names_file(run_cli, yolo_src, tmp_path):
    (yolo_src / "classes.txt").unlink()
    out = tmp_path / "out"
    result = run_cli("data", "import", "yolo", yolo_src, out)
    assert_one_line_error(result, f"{yolo_src}: no class-names file", out)


def test_yolo_bad_data_yaml(run_cli, yolo_src, tmp_path):
    (yolo_src / "classes.txt").unlink()
    (yolo_src / "data.yaml").write_text("names: [stop,\n  give_way\nnc: 2\n")
    out = tmp_path / "out"
    result = run_cli("data", "import", "yolo", yolo_src, out)
    assert_one_line_error(result, f"{yolo_src / 'data.yaml'}: not valid YAML (line 3, column 3:", out)


# --- COCO passthrough -------------------------------------------------------------------------------------


@pytest.fixture()
def coco_src(tmp_path: Path) -> Path:
    src = tmp_path / "coco"
    save_picture(src / "val" / "x" / "1.jpg", 1, 80, 60)
    save_picture(src / "val" / "2.png", 2, 40, 30)
    content = {
        "info": {"description": "tiny"},
        "images": [
            {"id": 7, "file_name": "x/1.jpg", "width": 80, "height": 60, "tags": {"time": "night"}},
            {"id": 9, "file_name": "2.png", "width": 40, "height": 30, "gtsdb_split": "test"},
        ],
        "annotations": [
            {"id": 100, "image_id": 7, "category_id": 3, "bbox": [1.5, 2, 10, 12], "area": 120, "iscrowd": 0,
             "attributes": {"occluded": 0.25}},
            {"id": 101, "image_id": 9, "category_id": 5, "bbox": [0, 0, 5, 5], "iscrowd": 1, "ignore": True},
        ],
        "categories": [{"id": 3, "name": "stop", "supercategory": "other"}, {"id": 5, "name": "keep_right"}],
    }
    (src / "instances.json").write_text(json.dumps(content))
    return src


def test_coco_passthrough_keeps_ids_fields_and_subfolders(run_cli, coco_src, tmp_path):
    out = tmp_path / "out"
    result = run_cli("data", "import", "coco", coco_src / "instances.json", out, "--images", coco_src / "val")
    assert result.exit_code == 0, result.output
    dataset = load_output(out)
    assert [(i.id, i.file_name, i.tags) for i in dataset.images] == [
        (7, "x/1.jpg", {"time": "night"}),
        (9, "2.png", {}),
    ]
    assert dataset.images[1].tag("gtsdb_split") == "test"
    assert [(a.id, a.category_id, a.bbox, a.ignore) for a in dataset.annotations] == [
        (100, 3, [1.5, 2.0, 10.0, 12.0], False),
        (101, 5, [0.0, 0.0, 5.0, 5.0], True),
    ]
    assert dataset.annotations[0].attributes == {"occluded": 0.25}
    assert dataset.info["description"] == "tiny" and dataset.info["imported_format"] == "coco"
    assert sha256_file(out / "images" / "x" / "1.jpg") == sha256_file(coco_src / "val" / "x" / "1.jpg")
    assert check_dataset(out).clean


def test_coco_tsrgate_folder_round_trips(coco_src, tmp_path):
    import_dataset("coco", coco_src / "instances.json", tmp_path / "first", images_dir=coco_src / "val")
    import_dataset("coco", tmp_path / "first", tmp_path / "second")
    assert load_output(tmp_path / "second").images == load_output(tmp_path / "first").images


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda c: c["annotations"][0].update(image_id=8), "annotations[0] (id 100): unknown image id 8"),
        (lambda c: c["annotations"][1].update(category_id=4), "annotations[1] (id 101): unknown category id 4"),
        (lambda c: c["annotations"][1].update(id=100), "annotations: id 100 is used more than once"),
        (lambda c: c["images"][1].update(file_name="3.png"), "images[1] (id 9): image file"),
        (lambda c: c.pop("categories"), "missing top-level key 'categories'"),
        (lambda c: c["annotations"][0].update(bbox=[1, 2, 3]), "invalid COCO at annotations.0.bbox"),
    ],
)
def test_coco_bad_structure_is_one_line_error(run_cli, coco_src, tmp_path, edit, problem):
    path = coco_src / "instances.json"
    content = json.loads(path.read_text())
    edit(content)
    path.write_text(json.dumps(content))
    out = tmp_path / "out"
    result = run_cli("data", "import", "coco", path, out, "--images", coco_src / "val")
    assert_one_line_error(result, f"{path}: {problem}", out)


def test_coco_invalid_json(run_cli, coco_src, tmp_path):
    (coco_src / "instances.json").write_text("{")
    out = tmp_path / "out"
    result = run_cli("data", "import", "coco", coco_src / "instances.json", out)
    assert_one_line_error(result, f"{coco_src / 'instances.json'}: not valid JSON", out)


def test_coco_file_name_escaping_the_image_root(run_cli, coco_src, tmp_path):
    path = coco_src / "instances.json"
    content = json.loads(path.read_text())
    content["images"][0]["file_name"] = "../instances.json"
    path.write_text(json.dumps(content))
    out = tmp_path / "out"
    result = run_cli("data", "import", "coco", path, out, "--images", coco_src / "val")
    expected = f"{path}: images[0] (id 7): image file name '../instances.json' must be a relative path"
    assert_one_line_error(result, expected, out)

