"""`tsrgate suite power`: MDC and images needed per rule and class, on the shipped baseline's records."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from gate.cli import cli as main
from tests.conftest import REPO_ROOT

V0001 = REPO_ROOT / "baselines" / "synth" / "versions" / "v0001" / "results"


@pytest.fixture(autouse=True)
def _needs_the_shipped_baseline():
    if not (REPO_ROOT / "baselines" / "synth" / "CURRENT").is_file() or not V0001.is_dir():
        pytest.skip("the shipped synth baseline is not in this checkout")


def test_suite_power_prints_mdc_and_images_needed(tmp_path):
    out = tmp_path / "power.json"
    result = CliRunner().invoke(main, ["suite", "power", "rare", "--model", "synth", "--baseline", str(V0001),
                                       "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "paired with synth-baseline 1.0.0" in result.output
    table = json.loads(out.read_text())
    rows = {(r["rule_id"], r["scope"]): r for r in table["rows"]}
    ap = rows[("suite-ap", "overall")]
    # images needed follow SE ~ 1/sqrt(n): n * (MDC / allowed)^2
    assert ap["images_needed"] == pytest.approx(table["images"] * (ap["mdc"] / ap["allowed_change"]) ** 2, abs=1)
    assert ap["caught_at"] == pytest.approx(ap["allowed_change"] + ap["mdc"])
    assert ap["detectable"] == (ap["mdc"] <= ap["allowed_change"])
    assert "cannot detect" in result.output  # 45 images cannot see a 0.02 AP drop


def test_a_larger_family_raises_the_mdc(tmp_path):
    small, large = tmp_path / "a.json", tmp_path / "b.json"
    for family, out in ((1, small), (400, large)):
        result = CliRunner().invoke(main, ["suite", "power", "rare", "--model", "synth", "--family-size", str(family),
                                           "--json", str(out)])
        assert result.exit_code == 0, result.output
    a, b = json.loads(small.read_text()), json.loads(large.read_text())
    assert b["per_test_alpha"] < a["per_test_alpha"]
    assert b["rows"][0]["mdc"] > a["rows"][0]["mdc"]


def test_unknown_suite_is_one_line_exit_2():
    result = CliRunner().invoke(main, ["suite", "power", "no-such-suite", "--model", "synth"])
    assert result.exit_code == 2
    assert "no torch results for suite 'no-such-suite'" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_bad_multiplicity_in_a_policy_is_one_line_exit_2(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text("name: x\nmultiplicity: {method: sidak}\nrules: [{id: a, metric: ap, check: {max_drop: 0.1}}]\n")
    result = CliRunner().invoke(main, ["suite", "power", "rare", "--model", "synth", "--policy", str(policy)])
    assert result.exit_code == 2
    line = result.output.strip()
    assert str(policy) in line and "multiplicity.method" in line and "\n" not in line
