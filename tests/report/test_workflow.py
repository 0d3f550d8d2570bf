"""The GitHub Actions gate workflow: valid YAML, the right triggers and steps, and only real tsrgate commands."""

from __future__ import annotations

import shlex

import click
import pytest
import yaml

from gate.cli import cli
from gate.run import load_gate_config
from tests.conftest import REPO_ROOT

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "tsrgate.yml"


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def _steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def _tsrgate_invocations(workflow: dict) -> list[list[str]]:
    calls = []
    for step in _steps(workflow):
        for line in step.get("run", "").splitlines():
            words = shlex.split(line)
            for i, word in enumerate(words):
                if word == "tsrgate" or word.endswith("/tsrgate"):
                    calls.append(words[i + 1:])
    return calls


def resolve_command(args: list[str]) -> tuple[click.Command, list[str]]:
    """Walk the click group down the sub-command names; returns the command and its own arguments."""
    command: click.Command = cli
    while isinstance(command, click.Group) and args and args[0] in command.commands:
        command, args = command.commands[args[0]], args[1:]
    return command, args


def test_triggers_on_pull_requests_touching_models_suites_and_policy(workflow):
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    paths = triggers["pull_request"]["paths"]
    for pattern in ("models/**", "suites/**", "gate/policies/**"):
        assert pattern in paths


def test_steps_install_run_compare_and_upload(workflow):
    steps = _steps(workflow)
    uses = [step.get("uses", "") for step in steps]
    assert any(u.startswith("actions/checkout@") for u in uses)
    setup = next(step for step in steps if step.get("uses", "").startswith("actions/setup-python@"))
    assert str(setup["with"]["python-version"]) == "3.11"
    runs = [step.get("run", "") for step in steps]
    assert "make install" in runs
    calls = _tsrgate_invocations(workflow)
    assert [call[0] for call in calls] == ["run", "compare"]
    assert calls[0][:2] == ["run", "models/synth-candidate"] and "--config" in calls[0]
    assert "--github" in calls[1] and calls[1][calls[1].index("--out") + 1] == "reports/ci"
    compare = next(step for step in steps if "tsrgate compare" in step.get("run", ""))
    assert not compare.get("continue-on-error"), "the compare step's exit code must fail the check"
    upload = next(step for step in steps if step.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["path"] == "reports/ci"
    assert upload.get("if") == "always()"  # reports are uploaded when the verdict failed too
    assert any("<!-- tsrgate-report -->" in step.get("with", {}).get("script", "") for step in steps)


def test_every_tsrgate_call_is_a_real_command_with_valid_options(workflow):
    calls = _tsrgate_invocations(workflow)
    assert calls
    for call in calls:
        command, args = resolve_command(call)
        assert command is not cli, f"unknown tsrgate command in the workflow: {call}"
        # Parsing (not running) the arguments rejects unknown options and missing required ones.
        context = command.make_context(f"tsrgate {call[0]}", list(args))
        assert context.params


def test_resolve_command_rejects_an_unknown_command():
    command, _ = resolve_command(["no-such-command", "x"])
    assert command is cli
    with pytest.raises(click.UsageError):
        resolve_command(["run"])[0].make_context("tsrgate run", ["m", "--no-such-option"])


def test_the_config_the_workflow_names_is_valid(workflow):
    config_paths = {call[call.index("--config") + 1] for call in _tsrgate_invocations(workflow) if "--config" in call}
    assert config_paths == {"tsrgate.yaml"}
    config = load_gate_config(REPO_ROOT / "tsrgate.yaml")
    assert config.baseline == "synth"
    assert {"torch", "onnx", "int8", "tensorrt"} <= set(config.backends)
