"""`tsrgate data check`: one named test per check on a tiny generated dataset, then the real GTSDB."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageFile

from gate.data.check import (
    AcceptedFinding,
    AcceptedFindings,
    DataCheckReport,
    check_dataset,
    missing_end_marker,
)
from gate.errors import InputError
from tests.data.conftest import edit_annotations, save_picture, write_dataset


def kinds(report: DataCheckReport) -> list[str]:
    return sorted(p.kind for p in report.problems)


def only_problem(report: DataCheckReport):
    assert len(report.problems) == 1, [p.line() for p in report.problems]
    return report.problems[0]


# --- clean dataset and statistics ------------------------------------------------------------------


def test_clean_dataset_has_no_problems_and_exact_statistics(clean_dataset):
    report = check_dataset(clean_dataset)
    assert report.clean, [p.line() for p in report.problems]
    stats = report.statistics
    assert (stats.images, stats.boxes, stats.ignore_regions, stats.images_without_boxes) == (4, 4, 1, 1)
    assert stats.class_counts() == {"stop": 2, "give_way": 2, "keep_right": 0}
    assert stats.histogram_counts() == {"<16": 1, "16-32": 1, "32-96": 2, ">96": 0}
    assert stats.empty_classes == [3]


def test_clean_dataset_cli_exit_0(run_cli, clean_dataset):
    result = run_cli("data", "check", clean_dataset)
    assert result.exit_code == 0, result.output
    assert "images: 4 (1 without boxes)" in result.output
    assert "no problems found" in result.output


def test_empty_class_is_a_warning_not_a_problem(clean_dataset):
    report = check_dataset(clean_dataset)
    assert report.clean
    assert [(w.kind, w.reason) for w in report.warnings] == [("empty_class", "category 3 keep_right has no boxes")]


def test_ignore_regions_are_not_counted_as_boxes(clean_dataset):
    stats = check_dataset(clean_dataset).statistics
    assert stats.ignore_regions == 1
    assert stats.class_counts()["keep_right"] == 0  # its only annotation is an ignore region


@pytest.mark.parametrize(
    ("longer_side", "label"),
    [
        (15.9, "<16"),
        (16.0, "16-32"),  # bins are half-open [low, high)
        (31.99, "16-32"),
        (32.0, "32-96"),
        (95.9, "32-96"),
        (96.0, ">96"),
    ],
)
def test_size_histogram_bin_edges(tmp_path, longer_side, label):
    root = write_dataset(
        tmp_path / "ds",
        [{"id": 1, "file_name": "a.png", "width": 200, "height": 200}],
        [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 5, longer_side]}],
        [{"id": 1, "name": "stop"}],
    )
    save_picture(root / "images" / "a.png", 1, 200, 200)
    counts = check_dataset(root).statistics.histogram_counts()
    assert counts[label] == 1 and sum(counts.values()) == 1


# --- image checks ------------------------------------------------------------------------------------


def test_truncated_jpeg(clean_dataset):
    path = clean_dataset / "images" / "b.jpg"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    problem = only_problem(check_dataset(clean_dataset))
    assert (problem.kind, problem.file) == ("truncated_image", "images/b.jpg")


def test_jpeg_missing_only_its_end_marker_is_truncated(clean_dataset):
    path = clean_dataset / "images" / "b.jpg"
    path.write_bytes(path.read_bytes()[:-2])  # PIL decodes this without complaint
    problem = only_problem(check_dataset(clean_dataset))
    assert problem.kind == "truncated_image"
    assert "end-of-image" in problem.reason


def test_truncated_png(clean_dataset):
    path = clean_dataset / "images" / "sub" / "c.png"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])
    problem = only_problem(check_dataset(clean_dataset))
    assert (problem.kind, problem.file) == ("truncated_image", "images/sub/c.png")


def test_truncation_is_caught_even_when_pil_was_told_to_tolerate_it(clean_dataset):
    path = clean_dataset / "images" / "b.jpg"
    path.write_bytes(path.read_bytes()[:-300])
    ImageFile.LOAD_TRUNCATED_IMAGES = True
    try:
        assert kinds(check_dataset(clean_dataset)) == ["truncated_image"]
        assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # restored afterwards
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = False


def test_end_marker_after_a_thumbnail_eoi_still_counts_as_missing():
    # A JPEG whose EXIF thumbnail ends with FFD9 but whose main scan was cut off.
    data = b"\xff\xd8" + b"\xff\xda" + b"thumb" + b"\xff\xd9" + b"\xff\xda" + b"scan data cut"
    assert missing_end_marker(data, "JPEG")
    assert missing_end_marker(data + b"\xff\xd9", "JPEG") is None
    assert missing_end_marker(data + b"\xff\xd9" + b"\x00" * 10, "JPEG") is None  # padding after EOI is fine


def test_unreadable_image(clean_dataset):
    (clean_dataset / "images" / "a.jpg").write_bytes(b"this is not an image")
    problem = only_problem(check_dataset(clean_dataset))
    assert (problem.kind, problem.file) == ("unreadable_image", "images/a.jpg")


def test_missing_image(clean_dataset):
    (clean_dataset / "images" / "d.jpg").unlink()
    problem = only_problem(check_dataset(clean_dataset))
    assert (problem.kind, problem.file) == ("missing_image", "images/d.jpg")


def test_size_mismatch(clean_dataset):
    edit_annotations(clean_dataset, lambda c: c["images"][1].update(width=100))
    problem = only_problem(check_dataset(clean_dataset))
    assert (problem.kind, problem.file) == ("size_mismatch", "images/b.jpg")
    assert problem.reason == "JSON says 100x64, the file is 96x64"


def test_file_name_leaving_the_images_folder(clean_dataset):
    edit_annotations(clean_dataset, lambda c: c["images"][3].update(file_name="../annotations.json"))
    assert kinds(check_dataset(clean_dataset)) == ["bad_file_name"]


def test_duplicate_image_bytes(clean_dataset):
    shutil.copyfile(clean_dataset / "images" / "a.jpg", clean_dataset / "images" / "copy.jpg")
    edit_annotations(
        clean_dataset, lambda c: c["images"].append({"id": 9, "file_name": "copy.jpg", "width": 96, "height": 64})
    )
    problem = only_problem(check_dataset(clean_dataset))
    assert (problem.kind, problem.file) == ("duplicate_image", "images/copy.jpg")
    assert "byte-identical to images/a.jpg" in problem.reason


def test_near_duplicate_image_reencoded(clean_dataset):
    # Same picture re-encoded at another JPEG quality: different bytes, same content.
    Image.open(clean_dataset / "images" / "a.jpg").save(clean_dataset / "images" / "again.jpg", quality=60)
    edit_annotations(
        clean_dataset, lambda c: c["images"].append({"id": 9, "file_name": "again.jpg", "width": 96, "height": 64})
    )
    problem = only_problem(check_dataset(clean_dataset))
    assert (problem.kind, problem.file) == ("near_duplicate_image", "images/again.jpg")
    assert "near-identical to images/a.jpg" in problem.reason


def test_near_duplicate_image_downscaled(tmp_path):
    root = tmp_path / "ds"
    save_picture(root / "images" / "big.jpg", 1, 320, 240)
    save_picture(root / "images" / "other.jpg", 2, 320, 240)
    Image.open(root / "images" / "big.jpg").resize((160, 120), Image.Resampling.BILINEAR).save(
        root / "images" / "small.jpg", quality=75
    )
    images = [
        {"id": 1, "file_name": "big.jpg", "width": 320, "height": 240},
        {"id": 2, "file_name": "other.jpg", "width": 320, "height": 240},
        {"id": 3, "file_name": "small.jpg", "width": 160, "height": 120},
    ]
    write_dataset(root, images, [], [{"id": 1, "name": "stop"}])
    problem = only_problem(check_dataset(root))
    assert (problem.kind, problem.file) == ("near_duplicate_image", "images/small.jpg")


def test_distinct_images_are_not_near_duplicates(tmp_path):
    images = []
    for seed in range(1, 41):
        save_picture(tmp_path / "ds" / "images" / f"{seed}.png", seed)
        images.append({"id": seed, "file_name": f"{seed}.png", "width": 96, "height": 64})
    root = write_dataset(tmp_path / "ds", images, [], [{"id": 1, "name": "stop"}])
    report = check_dataset(root)
    assert report.clean
    assert not [w for w in report.warnings if w.kind == "similar_images"]


# --- annotation checks ---------------------------------------------------------------------------------


def test_box_outside_image(clean_dataset):
    edit_annotations(clean_dataset, lambda c: c["annotations"][2].update(bbox=[80, 10, 20, 20]))
    problem = only_problem(check_dataset(clean_dataset))
    assert (problem.kind, problem.file) == ("box_outside_image", "images/b.jpg")
    assert problem.reason == "annotation 3 box [80, 10, 20, 20] extends outside the 96x64 image"


@pytest.mark.parametrize(
    ("bbox", "outside"),
    [
        ([50, 30, 46.4, 34.4], False),  # 0.4 px over the border: rounding
        ([-0.5, -0.5, 10, 10], False),
        ([50, 30, 46.6, 34], True),
        ([-0.6, 0, 10, 10], True),
    ],
)
def test_box_border_tolerance_is_half_a_pixel(clean_dataset, bbox, outside):
    edit_annotations(clean_dataset, lambda c: c["annotations"][3].update(bbox=bbox))
    assert kinds(check_dataset(clean_dataset)) == (["box_outside_image"] if outside else [])


@pytest.mark.parametrize("bbox", [[10, 10, 0, 5], [10, 10, 5, -1]])
def test_box_with_zero_or_negative_size(clean_dataset, bbox):
    edit_annotations(clean_dataset, lambda c: c["annotations"][0].update(bbox=bbox))
    problem = only_problem(check_dataset(clean_dataset))
    assert (problem.kind, problem.file) == ("box_degenerate", "images/a.jpg")


def test_annotation_with_unknown_image(clean_dataset):
    edit_annotations(clean_dataset, lambda c: c["annotations"][0].update(image_id=77))
    problem = only_problem(check_dataset(clean_dataset))
    assert (problem.kind, problem.file) == ("unknown_image", "annotations.json")
    assert problem.reason == "annotation 1 points to unknown image id 77"


def test_annotation_with_unknown_category(clean_dataset):
    edit_annotations(clean_dataset, lambda c: c["annotations"][1].update(category_id=99))
    problem = only_problem(check_dataset(clean_dataset))
    assert (problem.kind, problem.file) == ("unknown_category", "images/a.jpg")
    assert problem.reason == "annotation 2 has unknown category id 99"


def test_identical_boxes_are_duplicates(clean_dataset):
    edit_annotations(
        clean_dataset,
        lambda c: c["annotations"].append({"id": 6, "image_id": 1, "category_id": 1, "bbox": [10, 10, 12, 8]}),
    )
    problem = only_problem(check_dataset(clean_dataset))
    assert (problem.kind, problem.file) == ("duplicate_box", "images/a.jpg")
    assert problem.reason == "annotations 1 and 6 are duplicate stop boxes (IoU 1.00)"


@pytest.mark.parametrize(
    ("bbox", "duplicate"),
    [
        ([40, 30, 40, 30], True),  # the reference box itself
        ([40.5, 30, 40, 30], True),  # IoU 0.975
        ([41.5, 30, 40, 30], False),  # IoU 0.926 < 0.95
    ],
)
def test_near_identical_boxes_of_one_class_are_duplicates(clean_dataset, bbox, duplicate):
    def add(content):
        content["annotations"][2]["bbox"] = [40, 30, 40, 30]
        content["annotations"].append({"id": 6, "image_id": 2, "category_id": 1, "bbox": bbox})

    edit_annotations(clean_dataset, add)
    assert kinds(check_dataset(clean_dataset)) == (["duplicate_box"] if duplicate else [])


def test_overlapping_boxes_of_different_classes_are_not_duplicates(clean_dataset):
    edit_annotations(
        clean_dataset,
        lambda c: c["annotations"].append({"id": 6, "image_id": 1, "category_id": 2, "bbox": [10, 10, 12, 8]}),
    )
    assert check_dataset(clean_dataset).clean


def test_duplicate_annotation_id(clean_dataset):
    edit_annotations(clean_dataset, lambda c: c["annotations"][4].update(id=1))
    problem = only_problem(check_dataset(clean_dataset))
    assert (problem.kind, problem.file, problem.reason) == (
        "duplicate_annotation_id",
        "annotations.json",
        "annotation id 1 is used 2 times",
    )


def test_duplicate_image_id(clean_dataset):
    edit_annotations(clean_dataset, lambda c: c["images"][3].update(id=1))
    assert "duplicate_image_id" in kinds(check_dataset(clean_dataset))


def test_duplicate_category_id(clean_dataset):
    edit_annotations(clean_dataset, lambda c: c["categories"][2].update(id=1))
    assert "duplicate_category_id" in kinds(check_dataset(clean_dataset))


def test_two_image_entries_for_one_file(clean_dataset):
    edit_annotations(
        clean_dataset, lambda c: c["images"].append({"id": 9, "file_name": "a.jpg", "width": 96, "height": 64})
    )
    problem = only_problem(check_dataset(clean_dataset))
    assert (problem.kind, problem.file) == ("duplicate_file_name", "images/a.jpg")


# --- accepted findings -----------------------------------------------------------------------------------


def test_accepted_finding_is_listed_but_does_not_fail(clean_dataset):
    (clean_dataset / "images" / "d.jpg").unlink()
    accept = AcceptedFindings(accepted=[AcceptedFinding(kind="missing_image", file="images/d.jpg", why="known")])
    report = check_dataset(clean_dataset, accept=accept)
    assert report.clean
    assert [(a.problem.kind, a.why) for a in report.accepted] == [("missing_image", "known")]


def test_accepted_finding_that_no_longer_occurs_is_a_warning(clean_dataset):
    accept = AcceptedFindings(accepted=[AcceptedFinding(kind="missing_image", file="images/a.jpg", why="old")])
    report = check_dataset(clean_dataset, accept=accept)
    assert report.clean
    assert "stale_acceptance" in [w.kind for w in report.warnings]


def test_accept_file_for_another_annotations_file_is_not_applied(run_cli, clean_dataset, tmp_path):
    (clean_dataset / "images" / "d.jpg").unlink()
    accept = tmp_path / "accept.yaml"
    accept.write_text(
        f'annotations_sha256: "{"0" * 64}"\naccepted:\n  - {{kind: missing_image, file: images/d.jpg, why: known}}\n'
    )
    result = run_cli("data", "check", clean_dataset, "--accept", accept)
    assert result.exit_code == 1
    assert "none of its entries were applied" in result.output


def test_malformed_accept_file_is_exit_2(run_cli, clean_dataset, tmp_path):
    accept = tmp_path / "accept.yaml"
    accept.write_text("accepted:\n  - {kind: missing_image, file: images/d.jpg}\n")  # no `why`
    result = run_cli("data", "check", clean_dataset, "--accept", accept)
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {accept}: invalid accepted-findings file at accepted.0.why")


# --- CLI: output, JSON, exit codes ---------------------------------------------------------------------


def test_problems_print_file_and_reason_and_exit_1(run_cli, clean_dataset):
    (clean_dataset / "images" / "d.jpg").unlink()
    result = run_cli("data", "check", clean_dataset)
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == "images/d.jpg: image id 4: file not found"
    assert "1 problems found (missing_image 1)" in result.output


def test_json_report_file_loads_back_equal(run_cli, clean_dataset, tmp_path):
    out = tmp_path / "report.json"
    result = run_cli("data", "check", clean_dataset, "--json", out)
    assert result.exit_code == 0
    loaded = DataCheckReport.model_validate_json(out.read_text())
    assert loaded == check_dataset(clean_dataset)


def test_json_to_stdout_is_only_json(run_cli, clean_dataset):
    (clean_dataset / "images" / "a.jpg").write_bytes(b"junk")
    result = run_cli("data", "check", clean_dataset, "--json", "-")
    assert result.exit_code == 1
    content = json.loads(result.output)
    assert content["problems"][0]["kind"] == "unreadable_image"
    assert content["statistics"]["images"] == 4


def test_missing_folder_is_exit_2(run_cli, tmp_path):
    result = run_cli("data", "check", tmp_path / "nope")
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {tmp_path / 'nope'}: dataset folder not found"


def test_invalid_json_is_exit_2(run_cli, clean_dataset):
    (clean_dataset / "annotations.json").write_text("{ not json")
    result = run_cli("data", "check", clean_dataset)
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert "annotations.json: not valid JSON" in result.output


def test_check_raises_input_error_for_unusable_input(tmp_path):
    with pytest.raises(InputError):
        check_dataset(tmp_path)


# --- the shared GTSDB ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gtsdb_report_without_acceptances(gtsdb_path) -> DataCheckReport:
    return check_dataset(gtsdb_path, use_bundled=False)


def test_gtsdb_statistics(gtsdb_report_without_acceptances):
    stats = gtsdb_report_without_acceptances.statistics
    assert (stats.images, stats.boxes, stats.ignore_regions, stats.images_without_boxes) == (683, 1140, 0, 0)
    assert stats.histogram_counts() == {"<16": 235, "16-32": 613, "32-96": 292, ">96": 0}
    counts = stats.class_counts()
    assert len(counts) == 43
    assert (counts["keep_right"], counts["give_way"], counts["speed_limit_30"], counts["stop"]) == (88, 83, 79, 32)
    assert stats.empty_classes == [7, 33]


def test_gtsdb_has_exactly_two_genuine_findings(gtsdb_report_without_acceptances):
    # Found by this check, absent from the dataset's README: one frame stored twice and one stop
    # sign listed twice in GTSDB's gt.txt. gate/data/accepted/gtsdb.yaml records them as reviewed.
    assert [(p.kind, p.file) for p in gtsdb_report_without_acceptances.problems] == [
        ("duplicate_box", "images/gtsdb_00340.jpg"),
        ("duplicate_image", "images/gtsdb_00881.jpg"),
    ]


def test_gtsdb_check_cli_exits_0_with_reviewed_findings(run_cli, gtsdb_path):
    result = run_cli("data", "check", gtsdb_path)
    assert result.exit_code == 0, result.output
    assert "images: 683 (0 without boxes)   boxes: 1140" in result.output
    assert "box size, longer side px: <16: 235   16-32: 613   32-96: 292   >96: 0" in result.output
    assert "accepted findings (2, reviewed in gate/data/accepted/gtsdb.yaml):" in result.output
    assert "category 7 end_speed_limit_80 has no boxes" in result.output
    assert "no problems found" in result.output


def test_gtsdb_copy_with_four_defects_exits_1_naming_each(run_cli, gtsdb_path, tmp_path):
    copy = tmp_path / "gtsdb"
    (copy / "images").mkdir(parents=True)
    for image in sorted((gtsdb_path / "images").iterdir()):
        os.symlink(image, copy / "images" / image.name)  # untouched images are linked, not copied
    content = json.loads((gtsdb_path / "annotations.json").read_text())

    # 1. a truncated JPEG
    truncated = copy / "images" / "gtsdb_00005.jpg"
    data = truncated.read_bytes()
    truncated.unlink()
    truncated.write_bytes(data[: len(data) * 2 // 3])
    # 2. a box outside its image, 3. an annotation with an unknown category
    by_id = {image["id"]: image["file_name"] for image in content["images"]}
    outside, unknown = content["annotations"][100], content["annotations"][200]
    outside["bbox"] = [800.0, 100.0, 30.0, 30.0]
    unknown["category_id"] = 99
    # 4. a duplicated image: a second image entry whose file is a byte copy of another
    shutil.copyfile(gtsdb_path / "images" / "gtsdb_00020.jpg", copy / "images" / "gtsdb_copy.jpg")
    content["images"].append({"id": 10_000, "file_name": "gtsdb_copy.jpg", "width": 816, "height": 480})
    (copy / "annotations.json").write_text(json.dumps(content))

    result = run_cli("data", "check", copy)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(line.startswith("images/gtsdb_00005.jpg: truncated JPEG") for line in lines)
    outside_file, unknown_file = by_id[outside["image_id"]], by_id[unknown["image_id"]]
    box = "box [800, 100, 30, 30] extends outside the 816x480 image"
    assert f"images/{outside_file}: annotation {outside['id']} {box}" in lines
    assert f"images/{unknown_file}: annotation {unknown['id']} has unknown category id 99" in lines
    assert any(line.startswith("images/gtsdb_copy.jpg: byte-identical to images/gtsdb_00020.jpg") for line in lines)
    # The edited annotations.json no longer matches the reviewed one, so GTSDB's own two findings
    # are reported too: six problems in all.
    assert (
        "6 problems found (box_outside_image 1, duplicate_box 1, duplicate_image 2, truncated_image 1, "
        "unknown_category 1)"
    ) in lines

