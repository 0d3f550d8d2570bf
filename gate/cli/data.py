"""`tsrgate data ...`: import, check and synthesise datasets."""

from __future__ import annotations

import click


@click.group()
def data() -> None:
    """Import, check and generate datasets (COCO folders)."""


COMMANDS = [data]
