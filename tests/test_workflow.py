"""The gate workflow's one reuse rule and its history bookkeeping."""

from __future__ import annotations

import shutil

from gate.results.opened import load_run
from gate.workflow import record_run_once, reusable_run


def test_an_unchanged_earlier_run_is_reused_and_any_change_recomputes(gate_env, tmp_path):
    record = load_run(gate_env.results)
    config, suites_dir = record.config, gate_env.suites_dir
    assert reusable_run(gate_env.results, gate_env.model_dir, config, suites_dir) is not None
    other_config = config.model_copy(update={"batch_size": 7})
    assert reusable_run(gate_env.results, gate_env.model_dir, other_config, suites_dir) is None
    assert reusable_run(tmp_path / "none", gate_env.model_dir, config, suites_dir) is None

    rebuilt = tmp_path / "suites"
    shutil.copytree(suites_dir, rebuilt)
    manifest = next((rebuilt / "shapes-fog").rglob("manifest.json"))
    manifest.write_text(manifest.read_text() + "\n")  # other bytes: another suite as far as the gate is concerned
    assert reusable_run(gate_env.results, gate_env.model_dir, config, rebuilt) is None

    damaged = tmp_path / "damaged"
    shutil.copytree(gate_env.results, damaged)
    (damaged / "latency.json").write_text("{}")  # breaks the seal
    assert reusable_run(damaged, gate_env.model_dir, config, suites_dir) is None


def test_a_reused_run_is_recorded_in_the_history_once(gate_env, tmp_path):
    from gate.history import HistoryStore

    db = tmp_path / "history.sqlite"
    record = load_run(gate_env.results)
    record_run_once(record, gate_env.results, db, "synth")
    record_run_once(record, gate_env.results, db, "synth")
    runs = HistoryStore(db).entries(kind="run", line="synth")
    assert len(runs) == 1 and runs[0].weights_sha256 == record.model.weights_sha256
