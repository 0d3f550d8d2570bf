"""The sequence gate on real per-frame detections of the shipped synth-baseline on a small drive suite.

Two planted regressions are made from the model's own detections (gate.run.planted) and compared
against them under the default policy: late recognition (each sign's detections in the first 40 % of
the frames where the model detects it fall below the operating threshold) and a speed-limit class swap
in every third frame (read as another limit than the sign's). Frame AP moves a little under the
first; the sequence rules fail on both.
Predictions are made once per module (480 frames).
"""

from __future__ import annotations

import os
import shutil

import pytest

from gate.compare import compare_results
from gate.run.planted import class_swap_every_third, late_recognition
from gate.errors import InputError
from gate.run import GateConfig, run_model
from gate.suites import build_suite
from gate.locations import repo_root
from tests.gate_fixtures import craft_results

PROOF_SPEC = """name: drive-proof
version: 1
kind: sequence
description: a small drive suite for the sequence gate tests
seed: 31
source:
  drives: {drives: 16, frames: 30, fps: 5, seed: 18, version: "2"}
selection:
  classes: [speed_limit_30, speed_limit_50, speed_limit_60, speed_limit_80, speed_limit_100, speed_limit_120,
            no_overtaking, no_entry, danger, bend_right, traffic_signals_ahead, pedestrians,
            priority_at_next_intersection, give_way, stop, priority_road, ahead_only, turn_left_ahead,
            turn_right_ahead, keep_right]
"""
MODEL = repo_root() / "models" / "synth-baseline"


@pytest.fixture(scope="module")
def drive_run(tmp_path_factory):
    if not (MODEL / "card.json").is_file():
        pytest.skip("models/synth-baseline is not in this checkout")
    root = tmp_path_factory.mktemp("drive-gate")
    saved = os.environ.get("TSRGATE_CACHE")
    os.environ["TSRGATE_CACHE"] = str(root / "cache")
    try:
        spec = root / "spec" / "spec.yaml"
        spec.parent.mkdir()
        spec.write_text(PROOF_SPEC, encoding="utf-8")
        build_suite(spec, suites=root / "suites")
        config = GateConfig(suites=["drive-proof"], backends=["torch"], latency={"enabled": False}, probe_images=1)
        results = root / "baseline"
        run_model(MODEL, config, results, suites_dir=root / "suites", progress=False)
        yield root, results
    finally:
        if saved is None:
            os.environ.pop("TSRGATE_CACHE", None)
        else:
            os.environ["TSRGATE_CACHE"] = saved


def _planted(root, results, name, plant):
    from gate.compare.sequences import frame_truth

    out = root / name
    if out.exists():
        shutil.rmtree(out)

    def edit(suite_name, backend, suite, dets):
        return plant(dets, suite.manifest.sequence, frame_truth(suite.manifest), suite)

    return craft_results(results, out, edit)


def _row(verdict, metric, class_name=None):
    return next(r for r in verdict.comparisons
                if r.metric == metric and r.suite == "drive-proof" and r.backend == "torch" and r.class_name == class_name
                and r.size is None)


def _outcome(verdict, rule_id):
    return next(o for o in verdict.outcomes if o.rule_id == rule_id and o.class_name is None)


def test_identical_detections_pass_every_sequence_rule(drive_run):
    root, results = drive_run
    verdict = compare_results(results, results, latency=False)
    rows = [r for r in verdict.comparisons if r.metric == "sign_recognised_before_passing" and r.class_name is None]
    assert rows and rows[0].delta == 0.0 and rows[0].support > 20
    drive_rules = [o for o in verdict.outcomes if o.rule_id.startswith("drive-")]
    assert drive_rules and all(o.outcome in ("pass", "insufficient_support", "not_run") for o in drive_rules)
    assert verdict.sequences and verdict.sequences[0].suite == "drive-proof"
    from gate.report import write_verdict_reports

    write_verdict_reports(verdict, root / "report")
    html = (root / "report" / "report.html").read_text(encoding="utf-8")
    assert 'id="drives"' in html and 'aria-label="drive d0' in html and "speed_limit_accuracy" in html
    assert "drive-speed-limit-change" in (root / "report" / "junit.xml").read_text(encoding="utf-8")


def test_late_recognition_fails_the_sequence_gate_while_frame_ap_moves_little(drive_run):
    root, results = drive_run

    def plant(dets, table, truth, suite):
        return late_recognition(dets, table, truth, fraction=0.4, basis="detected", threshold=0.5, demote=0.5)

    late = _planted(root, results, "late", plant)
    verdict = compare_results(late, results, latency=False)
    ap, recognised = _row(verdict, "ap"), _row(verdict, "sign_recognised_before_passing")
    distance = _row(verdict, "first_confirmation_distance_median")
    print(f"late recognition: AP {ap.baseline:.3f} -> {ap.candidate:.3f} (delta {ap.delta:+.3f}, CI {ap.ci_low:+.3f} "
          f"to {ap.ci_high:+.3f}); recognised before passing {recognised.baseline:.3f} -> {recognised.candidate:.3f} "
          f"(CI {recognised.ci_low:+.3f} to {recognised.ci_high:+.3f}); first confirmation distance median "
          f"{distance.baseline:.1f} -> {distance.candidate:.1f} m (CI {distance.ci_low:+.1f} to {distance.ci_high:+.1f})")
    assert distance.ci_high < 0 and recognised.delta < 0
    assert _outcome(verdict, "drive-first-confirmation-distance").outcome == "fail"
    assert _outcome(verdict, "drive-recognised-before-passing").outcome in ("fail", "warn")
    assert verdict.outcome == "fail"
    # Frame AP sees a fraction of it: its relative drop is far smaller than the confirmation distance's.
    assert abs(ap.delta) / ap.baseline < 0.5 * abs(distance.delta) / distance.baseline


def test_speed_limit_class_swap_fails_flicker_and_speed_limit_accuracy(drive_run):
    root, results = drive_run

    def plant(dets, table, truth, suite):
        from gate.cards.card import load_card

        class_names = load_card(MODEL).class_names
        model_of = {c.id: class_names.index(c.name) for c in suite.manifest.taxonomy.coco_categories()
                    if c.name in class_names}
        model_limits = [i for i, n in enumerate(class_names) if n.startswith("speed_limit_")]
        return class_swap_every_third(dets, table, truth, model_of, model_limits)

    swapped = _planted(root, results, "swapped", plant)
    verdict = compare_results(swapped, results, latency=False)
    flicker, accuracy = _row(verdict, "flicker_rate"), _row(verdict, "speed_limit_accuracy")
    recall = _row(verdict, "recall_at_threshold")
    print(f"class swap: flicker {flicker.baseline:.3f} -> {flicker.candidate:.3f}/s (CI {flicker.ci_low:+.3f} to "
          f"{flicker.ci_high:+.3f}); speed-limit accuracy {accuracy.baseline:.3f} -> {accuracy.candidate:.3f} "
          f"(CI {accuracy.ci_low:+.3f} to {accuracy.ci_high:+.3f}); frame recall {recall.baseline:.3f} -> "
          f"{recall.candidate:.3f}")
    outcomes = {rule: _outcome(verdict, rule).outcome for rule in ("drive-flicker", "drive-speed-limit-accuracy")}
    assert flicker.ci_low > 0 and accuracy.ci_high < 0
    assert outcomes == {"drive-flicker": "fail", "drive-speed-limit-accuracy": "fail"}, outcomes
    assert abs(recall.delta) < abs(accuracy.delta)


def test_sequence_rule_on_a_suite_without_tracks_is_bad_input(drive_run, tmp_path, run_cli):
    from gate.compare.sequences import check_sequence_scopes
    from gate.policy import load_policy

    policy = tmp_path / "policy.yaml"
    policy.write_text("name: p\nrules:\n  - id: drive-on-clean\n    metric: speed_limit_accuracy\n"
                      "    scope: {suites: [clean]}\n    check: {max_drop: 0.05}\n", encoding="utf-8")
    loaded, _ = load_policy(policy)
    manifest = repo_root() / "suites" / "clean" / "1" / "manifest.json"
    with pytest.raises(InputError) as info:
        check_sequence_scopes(loaded, policy, ["clean", "drive-proof"], {"clean": False, "drive-proof": True},
                              {"clean": manifest})
    message = str(info.value)
    assert "clean" in message and "no drive tracks" in message and "manifest.json" in message
