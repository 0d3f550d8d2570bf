"""README "Bring your own model": its card ingests a YOLO raw export and its gate config is a valid config."""

from __future__ import annotations

import re

import yaml

from gate.cards.card import load_card
from gate.run import GateConfig
from tests.backends.family_models import INPUT, export_family_onnx
from tests.conftest import REPO_ROOT


def _block(marker: str) -> dict:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- {marker} -->\n```yaml\n(.*?)```", text, re.S)
    assert match, f"README has no yaml block after <!-- {marker} -->"
    return yaml.safe_load(match.group(1))


def test_readme_yolo_card_ingests_a_yolo_raw_export(tmp_path, run_cli):
    card = _block("byom-card")
    # The README shows a 640x640 YOLOv8n; the test model is the same layout at 64x64.
    card["preprocessing"]["input_size"] = [INPUT, INPUT]
    (tmp_path / "card.yaml").write_text(yaml.safe_dump(card))
    onnx_file = export_family_onnx(tmp_path / "yolov8n.onnx", "yolo_raw")
    result = run_cli("ingest", onnx_file, "--card", tmp_path / "card.yaml", "--out", tmp_path / "models" / "my-yolo")
    assert result.exit_code == 0, result.output
    loaded = load_card(tmp_path / "models" / "my-yolo")
    assert loaded.architecture.family == "yolo" and loaded.architecture.reference == "onnx"
    assert loaded.preprocessing.pad_value == 114 and loaded.postprocessing.nms_iou == 0.7


def test_readme_gate_config_sets_int8_export_settings():
    config = GateConfig.model_validate(_block("byom-config"))
    assert config.exports["int8"]["high_precision_dtype"] == "fp32"
    assert config.exports["int8"]["calibration_images"] == 32
