"""The one reader of input files: bounded safe YAML, one-line errors naming the file and the key."""

from __future__ import annotations

import time

import pytest
from pydantic import BaseModel, ConfigDict

from gate.errors import InputError, IntegrityError
from gate.inputs import MAX_YAML_DEPTH, load_model, parse_yaml, read_structured, validate


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """The "billion laughs" file: a few hundred bytes whose aliases expand to width**levels nodes."""
    names = [f"l{i}" for i in range(levels + 1)]
    lines = [f"{names[0]}: &{names[0]} [" + ", ".join(['"lol"'] * width) + "]"]
    lines += [f"{names[i]}: &{names[i]} [" + ", ".join([f"*{names[i - 1]}"] * width) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    eps: float = 0.1
    steps: int = 1


def test_alias_bomb_is_refused_at_once_in_one_line(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb())  # 9**9 = 387 million strings when expanded
    started = time.perf_counter()
    with pytest.raises(InputError) as err:
        read_structured(path, "suite spec")
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, elapsed  # bounded by the file's size, not by what it expands to
    message = str(err.value)
    assert message.startswith(f"{path}: refused YAML: aliases expand to more than") and "\n" not in message


def test_small_aliases_still_work():
    text = "base: &base {eps: 0.5, steps: 3}\nfirst: *base\nsecond: {<<: *base, steps: 4}\n"
    assert parse_yaml(text) == {"base": {"eps": 0.5, "steps": 3}, "first": {"eps": 0.5, "steps": 3},
                                "second": {"eps": 0.5, "steps": 4}}


@pytest.mark.parametrize(("text", "problem"), [
    ("a: &a [*a]\n", "recursive alias"),
    ("[" * (MAX_YAML_DEPTH + 5) + "]" * (MAX_YAML_DEPTH + 5), f"nested deeper than {MAX_YAML_DEPTH} levels"),
    ("- " * (MAX_YAML_DEPTH + 5) + "x\n", f"nested deeper than {MAX_YAML_DEPTH} levels"),
])
def test_recursive_and_deep_yaml_is_refused(text, problem):
    with pytest.raises(InputError, match=problem):
        parse_yaml(text, "f.yaml")


def test_exponent_without_a_dot_is_a_number_as_in_yaml_1_2():
    # PyYAML (YAML 1.1) reads `1e-05` as the text "1e-05"; JSON and YAML 1.2 read a number.
    assert parse_yaml("a: 1e-05\nb: 2E3\nc: -1.5e+2\nd: '1e-05'\ne: .e5\n") == {
        "a": 1e-05, "b": 2000.0, "c": -150.0, "d": "1e-05", "e": ".e5"}


@pytest.mark.parametrize(("text", "expected"), [
    ("name: [unclosed\n", "not valid YAML (line 2, column 1: expected ',' or ']', but got '<stream end>')"),
    ("a: b: c\n", "not valid YAML (line 1, column 5: mapping values are not allowed here)"),
    ("--- 1\n--- 2\n", "expected a single document in the stream but found another document"),
    ("when: 2024-13-45\n", "not valid YAML (month must be in 1..12)"),
])
def test_yaml_errors_are_one_line_with_line_and_column(tmp_path, text, expected):
    path = tmp_path / "x.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        read_structured(path)
    assert expected in str(err.value) and str(err.value).startswith(f"{path}: ") and "\n" not in str(err.value)


def test_json_errors_name_line_and_column(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"a": 1,\n "b": }')
    with pytest.raises(InputError, match=r"x.json: not valid JSON \(line 2, column 7: Expecting value\)"):
        read_structured(path)


@pytest.mark.parametrize(("setup", "problem"), [
    (lambda p: None, "policy not found"),
    (lambda p: p.mkdir(), "policy expected, found a folder"),
    (lambda p: p.write_bytes(b"name: \xff\xfe\n"), "policy is not UTF-8 text"),
])
def test_unreadable_files_are_one_line(tmp_path, setup, problem):
    path = tmp_path / "policy.yaml"
    setup(path)
    with pytest.raises(InputError, match=problem) as err:
        read_structured(path, "policy")
    assert err.value.path == str(path)


@pytest.mark.parametrize(("text", "problem"), [
    ("- a\n- b\n", "settings: expected a mapping of fields, got a list"),
    ("", "settings: expected a mapping of fields, got an empty document"),
    ("1: x\n", "settings: keys must be text, got 1"),
    ("name: x\nsteps: many\n", "invalid settings at steps: Input should be a valid integer"),
    ("name: x\nstep: 3\n", "invalid settings at step: Extra inputs are not permitted"),
])
def test_validation_names_the_file_and_the_key(tmp_path, text, problem):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=problem) as err:
        load_model(path, Settings, "settings")
    assert str(err.value).startswith(f"{path}: ")


def test_exponent_floats_validate_and_stored_data_can_raise_integrity_errors(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: x\neps: 1e-05\n")
    assert load_model(path, Settings, "settings").eps == 1e-05
    with pytest.raises(IntegrityError, match="invalid manifest at name"):
        validate({"name": 3}, Settings, "m.json", "manifest", error=IntegrityError)
