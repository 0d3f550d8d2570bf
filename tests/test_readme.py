"""The README is the user's spec: every `tsrgate` command it names exists, with the options it shows."""

from __future__ import annotations

import re

import click
import pytest

from gate.cli import cli
from tests.conftest import REPO_ROOT

# A command is `tsrgate ...` in inline code, or at the start of a line in a code block.
COMMAND = re.compile(r"(?:^|`|bin/)tsrgate((?: [a-z][a-z0-9-]*)+)((?: [^`|\n]*)?)", re.M)


def readme_commands() -> list[tuple[list[str], list[str]]]:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    found = []
    for match in COMMAND.finditer(text):
        words = match.group(1).split()
        options = re.findall(r"(--[a-z][a-z0-9-]*)", match.group(2))
        found.append((words, options))
    return found


def resolve(words: list[str]) -> click.Command:
    command: click.Command = cli
    for word in words:
        if not isinstance(command, click.Group) or word not in command.commands:
            break
        command = command.commands[word]
    return command


def test_readme_names_commands():
    assert len(readme_commands()) > 20


@pytest.mark.parametrize("words, options", readme_commands(), ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_readme_command_exists_with_its_options(words, options):
    command = resolve(words)
    assert command is not cli, f"`tsrgate {' '.join(words)}` is not a tsrgate command"
    known = {opt for param in command.params for opt in getattr(param, "opts", [])}
    known |= {"--help", "-h"}
    if isinstance(command, click.Group):
        return  # options after a group name belong to its subcommands (checked in their own rows)
    missing = [o for o in options if o not in known]
    assert not missing, f"`tsrgate {' '.join(words)}` has no option(s) {missing}"
