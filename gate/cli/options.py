"""Command-line options several commands share, defined once with one help text each."""

from __future__ import annotations

from pathlib import Path

import click

_PATH = click.Path(path_type=Path)


def split_list(value: str | None) -> list[str] | None:
    """`a, b,c` -> ["a", "b", "c"]; None or only commas -> None."""
    return None if value is None else [v.strip() for v in value.split(",") if v.strip()] or None


def threads_option(help: str = "CPU threads per backend (default: $TSRGATE_THREADS or 1)."):
    return click.option("--threads", type=click.IntRange(min=1), default=None, help=help)


cache_option = click.option("--cache", type=_PATH, default=None,
                            help="Cache folder for rendered suite images and exports "
                                 "(default: $TSRGATE_CACHE, else the user cache folder).")
suites_dir_option = click.option("--suites-dir", "suites_dir", type=_PATH, default=None,
                                 help="Suites root (default: $TSRGATE_SUITES, else suites/ in the repository).")
data_option = click.option("--data", type=_PATH, default=None,
                           help="Source dataset folder, when not where the suite spec says.")
history_db_option = click.option("--history-db", type=_PATH, default=None,
                                 help="History database (default: $TSRGATE_HISTORY).")
baselines_dir_option = click.option("--baselines-dir", type=_PATH, default=None,
                                    help="Baselines folder (default: $TSRGATE_BASELINES, else ./baselines).")


def location_options(command):
    """--cache, --suites-dir and --data: where a command finds suites and their images."""
    for option in (data_option, suites_dir_option, cache_option):
        command = option(command)
    return command
