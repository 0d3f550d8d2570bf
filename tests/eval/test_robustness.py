"""mPC and rPC (Michaelis et al. 2019)."""

from __future__ import annotations

import pytest

from gate.errors import InputError
from gate.eval import robustness


def test_mpc_is_the_mean_over_corruptions_of_the_mean_over_severities():
    result = robustness(0.5, {("fog", 1): 0.4, ("fog", 2): 0.2, ("rain", 1): 0.45})
    assert result.per_corruption == {"fog": pytest.approx(0.3), "rain": pytest.approx(0.45)}
    assert result.mpc == pytest.approx((0.3 + 0.45) / 2)
    assert result.rpc == pytest.approx(result.mpc / 0.5)
    assert result.per_suite["fog@2"] == 0.2


def test_rpc_is_undefined_for_a_zero_clean_score():
    assert robustness(0.0, {("fog", 1): 0.0}).rpc is None


def test_no_corruption_suites_is_an_input_error():
    with pytest.raises(InputError, match="at least one"):
        robustness(0.5, {})


def test_undefined_metric_on_a_corruption_suite_is_an_input_error():
    with pytest.raises(InputError, match="undefined on fog@1"):
        robustness(0.5, {("fog", 1): -1.0})


def _suites(drop_fog: float, seed: int):
    import numpy as np

    from gate.eval import match
    from tests.eval.cases import traffic_scene as _scene, without_private_keys as _clean

    gt, dets = _scene(seed=21, n_images=150)
    rng = np.random.default_rng(seed)
    clean = match(gt, _clean(dets))
    fog = match(gt, _clean([d for d in dets if rng.random() > drop_fog]))
    fog2 = match(gt, _clean([d for d in dets if rng.random() > drop_fog * 1.5]))
    return {"clean": clean, "fog-1": fog, "fog-2": fog2}


CORRUPTIONS = {"fog-1": ("fog", 1), "fog-2": ("fog", 2)}


def test_equal_models_have_mpc_and_rpc_cis_containing_zero():
    from gate.eval import paired_bootstrap_robustness

    suites = _suites(0.2, seed=0)
    rows = paired_bootstrap_robustness(suites, suites, "clean", CORRUPTIONS, resamples=100)
    assert [r.metric for r in rows] == ["mpc", "rpc"]
    assert all(r.delta == 0.0 and r.ci_low <= 0.0 <= r.ci_high for r in rows)


def test_a_model_that_degrades_more_under_fog_has_lower_mpc_and_rpc():
    from gate.eval import paired_bootstrap_robustness

    baseline = _suites(0.1, seed=1)
    candidate = dict(_suites(0.5, seed=2), clean=baseline["clean"])
    mpc, rpc = paired_bootstrap_robustness(candidate, baseline, "clean", CORRUPTIONS, resamples=200)
    assert mpc.ci_high < 0 and rpc.ci_high < 0 and mpc.p_worse < 0.01
    assert rpc.value_baseline == pytest.approx(mpc.value_baseline / robustness_clean_ap(baseline["clean"]))


def robustness_clean_ap(records):
    from gate.eval import evaluate_records

    return evaluate_records(records, tide=False).summary["ap"]


def test_suites_over_different_images_are_refused():
    from gate.errors import RefusedError
    from gate.eval import match, paired_bootstrap_robustness
    from tests.eval.cases import traffic_scene as _scene, without_private_keys as _clean

    suites = _suites(0.2, seed=0)
    gt, dets = _scene(seed=5, n_images=40)
    other = dict(suites, **{"fog-2": match(gt, _clean(dets))})
    with pytest.raises(RefusedError, match="same images"):
        paired_bootstrap_robustness(other, other, "clean", CORRUPTIONS, resamples=10)
