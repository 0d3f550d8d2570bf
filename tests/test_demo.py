"""The demo names the shipped models it cannot find instead of failing with a traceback."""

from __future__ import annotations

from gate.demo import DemoModelsMissing, missing_models


def test_missing_models_are_named(tmp_path):
    assert missing_models(tmp_path) == ["models/synth-baseline", "models/synth-candidate"]
    (tmp_path / "models" / "synth-baseline").mkdir(parents=True)
    (tmp_path / "models" / "synth-baseline" / "card.json").write_text("{}")
    assert missing_models(tmp_path) == ["models/synth-candidate"]
    message = str(DemoModelsMissing(missing_models(tmp_path)))
    assert "models/synth-candidate" in message and "models/recipes/" in message and "\n" not in message
