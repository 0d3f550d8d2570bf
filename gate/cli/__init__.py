"""The `tsrgate` command: a thin layer that parses arguments, calls the library and sets the exit code.

Each command group lives in its own module here and imports heavy libraries (torch, onnxruntime)
inside its functions, so `tsrgate --help` and data commands start fast.
"""

from __future__ import annotations

import importlib
import sys
import traceback

import click

from gate import __version__
from gate.errors import EXIT_ERROR, GateError

# Modules that each define one click command or group named in their `COMMANDS` list.
COMMAND_MODULES = [
    "gate.cli.data",
    "gate.cli.baseline",
    "gate.cli.history",
    "gate.cli.models",
    "gate.cli.suite",
    "gate.cli.export",
    "gate.cli.eval",
    "gate.cli.run",
    "gate.cli.compare",
    "gate.cli.report",
    "gate.cli.demo",
    "gate.cli.mine",
]


class _GateGroup(click.Group):
    """Turns library errors into one line on stderr and an exit code; `--debug` shows the traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except GateError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except OSError as exc:  # the file system refused (no permission, a file where a folder must be, disk full)
            if exc.filename is None:
                raise
            if ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            click.echo(f"error: {exc.filename}: {exc.strerror or type(exc).__name__}", err=True)
            ctx.exit(EXIT_ERROR)
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            ctx.exit(130)
        except Exception as exc:  # a bug, not bad input: still one line unless --debug
            if ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            click.echo(
                f"error: internal error {type(exc).__name__}: {exc} (run with --debug for the traceback)",
                err=True,
            )
            ctx.exit(EXIT_ERROR)


@click.group(cls=_GateGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tsrgate")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """tsrgate: is this traffic-sign detector at least as good as the released baseline?"""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


for _module_name in COMMAND_MODULES:
    for _command in importlib.import_module(_module_name).COMMANDS:
        cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="tsrgate")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
