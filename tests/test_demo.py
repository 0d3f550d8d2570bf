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
    from gate.models.card import load_card

    from gate.run import load_run

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


def test_an_unchanged_earlier_run_is_reused_and_any_change_recomputes(gate_env, tmp_path):
    import shutil

    from gate.demo import reusable_results
    from gate.run import GateConfig, load_run

    record = load_run(gate_env.results)
    config = GateConfig.model_validate(record.config)
    suites = {s.name: s.manifest_sha256 for s in record.suites}
    assert reusable_results(gate_env.results, gate_env.model_dir, config, suites) is not None
    assert reusable_results(gate_env.results, gate_env.model_dir, config.model_copy(update={"batch_size": 7}),
                            suites) is None
    assert reusable_results(gate_env.results, gate_env.model_dir, config, {**suites, "shapes-fog": "0" * 64}) is None
    assert reusable_results(tmp_path / "none", gate_env.model_dir, config, suites) is None
    damaged = tmp_path / "damaged"
    shutil.copytree(gate_env.results, damaged)
    (damaged / "latency.json").write_text("{}")  # breaks the seal
    assert reusable_results(damaged, gate_env.model_dir, config, suites) is None


def test_a_reused_run_is_recorded_in_the_history_once(gate_env, tmp_path, monkeypatch):
    from gate.demo import record_run_once
    from gate.history import HistoryStore
    from gate.run import load_run

    monkeypatch.setenv("TSRGATE_HISTORY", str(tmp_path / "history.sqlite"))
    record = load_run(gate_env.results)
    record_run_once(record, gate_env.results)
    record_run_once(record, gate_env.results)
    runs = HistoryStore().entries(kind="run", line="synth")
    assert len(runs) == 1 and runs[0].weights_sha256 == record.model.weights_sha256
