"""`tsrgate suite build|verify|list|show`, and every bad input as one line with a non-zero exit."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from gate.suites.render import load_pixels


def one_error_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_build_list_show_verify(run_cli, make_spec, roots, tmp_path):
    built = run_cli("suite", "build", make_spec())
    assert built.exit_code == 0, built.output
    assert "suite tiny-night v1: 4 images, 8 boxes, 1 ignore regions; 4 rendered into the cache" in built.output
    assert built.output.index("images prepared 4/4") < built.output.index("4 rendered into the cache")
    listed = run_cli("suite", "list")
    assert listed.exit_code == 0
    row = next(line for line in listed.output.splitlines() if line.startswith("tiny-night"))
    assert row.split()[:6] == ["tiny-night", "1", "4", "8", "1", "night:3"]
    assert "present" in row and "4/4" in row
    shown = run_cli("suite", "show", "tiny-night", "--out", tmp_path / "s.png", "--count", "2")
    assert shown.exit_code == 0 and (tmp_path / "s.png").is_file()
    verified = run_cli("suite", "verify", "tiny-night")
    assert verified.exit_code == 0 and ": OK" in verified.output


def test_build_without_transforms_never_claims_0_rendered(run_cli, make_spec):
    built = run_cli("suite", "build", make_spec(transforms=[]))
    assert built.exit_code == 0, built.output
    assert "0 rendered" not in built.output
    assert "no transforms: images are read from the source as they are" in built.output


def test_build_help_points_to_the_region_pack_how_to(run_cli):
    from tests.conftest import REPO_ROOT

    help_text = run_cli("suite", "build", "--help").output
    assert 'README.md, section "Building a region pack"' in " ".join(help_text.split())
    assert "## Building a region pack" in (REPO_ROOT / "README.md").read_text()


def test_roots_can_be_given_as_options(run_cli, make_spec, tmp_path, monkeypatch):
    monkeypatch.delenv("TSRGATE_SUITES", raising=False)
    suites, cache = tmp_path / "s", tmp_path / "c"
    result = run_cli("suite", "build", make_spec(), "--suites-dir", suites, "--cache", cache)
    assert result.exit_code == 0 and (suites / "tiny-night" / "1" / "manifest.json").is_file()
    assert run_cli("suite", "verify", "tiny-night", "--suites-dir", suites, "--cache", cache).exit_code == 0


def test_verify_exits_1_naming_the_changed_file(run_cli, make_spec, roots):
    run_cli("suite", "build", make_spec())
    target = roots["cache"] / "suites" / "tiny-night" / "1" / "0000006.png"
    pixels = load_pixels(target).copy()
    pixels[10, 10, 2] ^= 1
    Image.fromarray(pixels).save(target)
    result = run_cli("suite", "verify", "tiny-night")
    assert result.exit_code == 1
    assert f"mismatch: {target}: rendered image pixels differ" in result.output
    assert "FAILED (1 mismatches)" in result.output


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"transforms": [{"name": "snow", "severity": 2}]}, "unknown transform 'snow'"),
        ({"transforms": [{"name": "rain", "severity": 9}]}, "severity must be one of"),
        ({"selection": {"tags": {"weather": "hail"}}}, "selection matches no image"),
        ({"selection": {"split": "test", "size": {"max": 2}}}, "selection matches nothing"),
        ({"taxonomy": {"categories": ["x"], "source": {"map": {"speedlimit_30": "x"}}}},
         "unknown class 'speedlimit_30'"),
    ],
    ids=["unknown-transform", "bad-severity", "no-image", "no-box", "taxonomy-unknown-class"],
)
def test_bad_spec_is_one_line_exit_2_and_writes_nothing(run_cli, make_spec, roots, overrides, message):
    spec = make_spec(**overrides)
    result = run_cli("suite", "build", spec)
    assert result.exit_code == 2
    line = one_error_line(result)
    assert line.startswith(f"error: {spec}: ") and message in line
    assert not roots["suites"].exists() or not any(roots["suites"].iterdir())


def test_missing_source_file_is_one_line(run_cli, make_spec, roots, tiny_dataset):
    (tiny_dataset / "images" / "tiny_009.png").unlink()
    result = run_cli("suite", "build", make_spec())
    assert result.exit_code == 2
    assert one_error_line(result) == f"error: {tiny_dataset / 'images' / 'tiny_009.png'}: source image not found"


def test_missing_dataset_is_one_line(run_cli, make_spec, roots, tmp_path):
    result = run_cli("suite", "build", make_spec(), "--data", tmp_path / "nowhere")
    assert result.exit_code == 2 and "dataset folder not found" in one_error_line(result)


def test_hand_edited_manifest(run_cli, make_spec, roots, tmp_path):
    run_cli("suite", "build", make_spec())
    manifest = roots["suites"] / "tiny-night" / "1" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["images"][2]["annotations"][1]["bbox"][1] = 0.0
    manifest.write_text(json.dumps(data, indent=2))
    edited = manifest.read_bytes()
    verify = run_cli("suite", "verify", "tiny-night")
    assert verify.exit_code == 1 and f"mismatch: {manifest}: manifest content does not match" in verify.output
    show = run_cli("suite", "show", "tiny-night", "--out", tmp_path / "x.png")
    assert show.exit_code == 2 and one_error_line(show).startswith(f"error: {manifest}: manifest content")
    rebuild = run_cli("suite", "build", roots["suites"] / "tiny-night" / "1" / "spec.yaml")
    assert rebuild.exit_code == 2 and "restore it" in one_error_line(rebuild)
    assert manifest.read_bytes() == edited  # nothing overwritten


def test_changed_rendered_image_refused_on_use(run_cli, make_spec, roots, tmp_path):
    run_cli("suite", "build", make_spec())
    target = roots["cache"] / "suites" / "tiny-night" / "1" / "0000005.png"
    pixels = load_pixels(target).copy()
    pixels[0, 0, 0] ^= 1
    Image.fromarray(pixels).save(target)
    show = run_cli("suite", "show", "tiny-night", "--out", tmp_path / "x.png")
    assert show.exit_code == 2
    assert one_error_line(show).startswith(f"error: {target}: rendered image does not match the manifest")


def test_spec_change_without_version_bump_is_refused(run_cli, make_spec, roots):
    spec = make_spec()
    run_cli("suite", "build", spec)
    spec.write_text(spec.read_text().replace("seed: 3", "seed: 5"))
    result = run_cli("suite", "build", spec)
    assert result.exit_code == 2 and "bump `version`" in one_error_line(result)


def test_unknown_suite_name(run_cli, roots):
    result = run_cli("suite", "verify", "nope")
    assert result.exit_code == 2 and "no suite named 'nope'" in one_error_line(result)


def test_build_by_suite_name_rebuilds_its_spec(run_cli, make_spec, roots):
    run_cli("suite", "build", make_spec())
    result = run_cli("suite", "build", "tiny-night")
    assert result.exit_code == 0 and "unchanged (rebuilt, identical content)" in result.output
