"""A team's own packs in a second suites folder are gated beside the shipped ones in one `run --config`."""

from __future__ import annotations

import os
import shutil

from gate.run import load_run
from gate.suites import build_suite
from gate.suites.manifest import SPEC_FILE


def test_a_pack_in_a_second_suites_folder_runs_beside_the_first(gate_env, tmp_path, run_cli):
    packs = tmp_path / "team-packs"
    spec = tmp_path / "shapes-pack.yaml"
    shipped_spec = (gate_env.suites_dir / "shapes-clean" / "1" / SPEC_FILE).read_text()
    spec.write_text(shipped_spec.replace("name: shapes-clean", "name: shapes-pack").replace("seed: 11", "seed: 13"))
    build_suite(spec, cache=gate_env.cache, suites=packs)
    assert not (gate_env.suites_dir / "shapes-pack").exists()  # built into the second folder only

    config = tmp_path / "gate.yaml"
    config.write_text("suites: [shapes-clean, shapes-pack]\nbackends: [torch]\nlatency: {enabled: false}\n")
    roots = os.pathsep.join([str(gate_env.suites_dir), str(packs)])
    out = tmp_path / "results"
    result = run_cli("run", gate_env.model_dir, "--config", config, "--suites-dir", roots, "--out", out,
                     "--quiet", "--no-history", "--cache", gate_env.cache)
    assert result.exit_code == 0, result.output
    record = load_run(out)
    assert [s.name for s in record.suites] == ["shapes-clean", "shapes-pack"]
    assert {(e.suite, e.backend) for e in record.entries} == {("shapes-clean", "torch"), ("shapes-pack", "torch")}


def test_the_same_suite_name_in_two_folders_is_refused(gate_env, tmp_path, run_cli):
    copy = tmp_path / "copy"
    shutil.copytree(gate_env.suites_dir / "shapes-clean", copy / "shapes-clean")
    roots = os.pathsep.join([str(gate_env.suites_dir), str(copy)])
    result = run_cli("run", gate_env.model_dir, "--suites", "shapes-clean", "--backends", "torch",
                     "--suites-dir", roots, "--out", tmp_path / "r", "--quiet", "--no-history", "--no-latency")
    assert result.exit_code == 2
    assert "suite 'shapes-clean' is in more than one suites root" in result.output
