"""Holes a planted set found in the default policy, closed: a recall collapse and a preprocessing change.

The collapse test plants a score shift into the shipped baseline's real match records (every score
multiplied down, ranking kept, so AP barely moves) and judges it with the default policy; the
preprocessing test sets two run records against each other whose cards differ in channel order and
whose probe tensors differ.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from gate.compare.comparisons import suite_accuracy_rows
from gate.compare.preprocessing import compare_preprocessing
from gate.eval import MatchRecords
from gate.policy import apply_policy, load_policy
from gate.results.config import GateConfig
from gate.results.folder import ResultsIndex
from gate.results.opened import ResultsFolder
from gate.results.parity import ParityEntry, PreprocessingParity
from gate.results.record import ModelProvenance, RunRecord
from tests.conftest import REPO_ROOT

BASELINE = REPO_ROOT / "baselines" / "synth" / "versions" / "v0002" / "results"


def _records(suite: str) -> MatchRecords:
    path = BASELINE / "suites" / suite / "torch" / "evaluation.records.npz"
    if not path.is_file():
        pytest.skip(f"the shipped baseline's records are not in this checkout ({path})")
    return MatchRecords.load(path)


def _judge(suite: str, candidate: MatchRecords, baseline: MatchRecords):
    policy, _ = load_policy()
    rows = suite_accuracy_rows(policy, suite, "torch", candidate, baseline, candidate_threshold=0.5,
                               baseline_threshold=0.5)
    return apply_policy(policy, rows)


@pytest.mark.parametrize("factor", [0.3, 0.7])
def test_default_policy_fails_a_recall_collapse_from_a_score_shift(factor):
    base = _records("rare")
    shifted = replace(base, det_score=base.det_score * factor)  # ranking kept: AP stays, recall at 0.5 falls
    outcomes = _judge("rare", shifted, base)
    failed = {o.rule_id for o in outcomes if o.outcome == "fail"}
    recall = next(o for o in outcomes if o.rule_id == "suite-recall")
    assert recall.outcome == "fail" and recall.value < recall.baseline - 0.2, recall.reason
    if factor == 0.3:  # nothing left above the threshold: the point-estimate guard fails too
        assert "detection-collapse" in failed
    assert not any(o.outcome == "fail" for o in outcomes if o.rule_id == "suite-ap")  # AP alone would pass


def test_default_policy_passes_the_baseline_against_itself():
    base = _records("rare")
    outcomes = _judge("rare", base, base)
    assert not [o for o in outcomes if o.outcome in ("fail", "warn")]
    # identical sides: every resampled delta is 0, so the tests see everything (MDC 0)
    assert all(o.outcome == "pass" and o.mdc == 0.0 for o in outcomes if o.p_value is not None)


def _run(tmp: Path, name: str, channel_order: str, tensor: str) -> ResultsFolder:
    folder = tmp / name
    folder.mkdir()
    PreprocessingParity(reference="torch", probe_image_ids=[0], probe_pixels_sha256="p" * 64, entries=[
        ParityEntry(backend="torch", tensor_sha256=tensor, shape=[1, 3, 256, 256], dtype="float32",
                    matches_reference=True, max_abs_diff=0.0)]).save(folder / "parity.json")
    model = ModelProvenance(name=name, version="1", path=str(folder / "model"), card_sha256="c" * 64,
                            weights_sha256="w" * 64, class_names=["a"], score_threshold=0.5,
                            preprocessing={"input_size": [256, 256], "channel_order": channel_order,
                                           "normalize": {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}})
    record = RunRecord(created_at="now", config=GateConfig(suites=["s"]), model=model, suites=[], backends=[], entries=[],
                       parity_file="parity.json")
    return ResultsFolder(folder, ResultsIndex(files={}), record)


def test_a_changed_channel_order_is_named(tmp_path):
    cand = _run(tmp_path, "cand", "bgr", "b" * 64)
    base = _run(tmp_path, "base", "rgb", "a" * 64)
    found = compare_preprocessing(cand, base)
    assert found.changed
    assert "channel_order: rgb -> bgr" in found.changes
    assert any(c.startswith("probe tensor sha256: aaaaaaaaaaaa -> bbbbbbbbbbbb") for c in found.changes)


def test_unchanged_preprocessing_is_no_finding(tmp_path):
    cand = _run(tmp_path, "cand", "rgb", "a" * 64)
    base = _run(tmp_path, "base", "rgb", "a" * 64)
    found = compare_preprocessing(cand, base)
    assert not found.changed and not found.changes and "identical" in found.probe
