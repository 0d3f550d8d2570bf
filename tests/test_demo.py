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


def test_demo_uses_the_stored_baseline_only_when_it_is_the_shipped_models(gate_env, tmp_path):
    """The committed baseline stands in for re-running synth-baseline only if its weights and suites match."""
    import shutil

    from gate.baselines.store import BaselineStore
    from gate.demo import stored_baseline
    from gate.cards.card import load_card
    from gate.results.opened import load_run

    root = tmp_path / "repo"
    suites = {s.name: s.manifest_sha256 for s in load_run(gate_env.results).suites}
    assert stored_baseline(root, "synth", suites) is None  # no baseline stored
    shutil.copytree(gate_env.model_dir, root / "models" / "synth-baseline")
    BaselineStore(root / "baselines").promote(gate_env.results, "synth", signed_by="test")
    record, results = stored_baseline(root, "synth", suites)
    assert record.model.weights_sha256 == load_card(root / "models" / "synth-baseline").weights.sha256
    assert (results / "run.json").is_file()
    assert stored_baseline(root, "synth", {"shapes-clean": suites["shapes-clean"]}) is None  # other suites
    assert stored_baseline(root, "synth", {**suites, "shapes-fog": "0" * 64}) is None  # a rebuilt suite
    assert stored_baseline(root, None, suites) is None
