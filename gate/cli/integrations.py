"""`tsrgate export fiftyone`: results handed to FiftyOne (the `--mlflow` option is in gate/cli/options.py).

`tsrgate export` keeps exporting a model (`tsrgate export MODEL --format onnx|int8`); the group
below routes any first word that is not one of its named exports to that command.
"""

from __future__ import annotations

from pathlib import Path

import click

from gate.cli.options import baselines_dir_option, location_options

_MODEL_EXPORT = "<model>"  # internal name of the model export (no folder is spelled like this)


class ExportGroup(click.Group):
    """`tsrgate export MODEL --format ...` plus named exports (`tsrgate export fiftyone RESULTS ...`)."""

    def __init__(self, model_export: click.Command, **kwargs):
        super().__init__(**kwargs)
        self.model_export = model_export

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [_MODEL_EXPORT, *args]
        return super().parse_args(ctx, args)

    def get_command(self, ctx: click.Context, cmd_name: str):
        return self.model_export if cmd_name == _MODEL_EXPORT else super().get_command(ctx, cmd_name)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name, command, rest = super().resolve_command(ctx, args)
        # The model export shows up in usage lines as `tsrgate export MODEL ...`, as it always did.
        return ("" if name == _MODEL_EXPORT else name), command, rest


def export_group(model_export: click.Command) -> ExportGroup:
    group = ExportGroup(
        model_export, name="export",
        help="Export MODEL to ONNX or INT8 (`tsrgate export MODEL --format onnx|int8`; "
             "`tsrgate export MODEL --help` lists its options), or results to another tool (commands below).",
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    group.add_command(fiftyone_export)
    return group


@click.command("fiftyone")
@click.argument("results", type=click.Path(path_type=Path))
@click.option("--baseline", default=None,
              help="Baseline results folder or line, when RESULTS is a results folder (a verdict names its own).")
@click.option("--suite", "suites", multiple=True, help="Suite to export (repeatable; default: every compared suite).")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Dataset folder to write.")
@click.option("--force", is_flag=True, help="Replace --out when it exists.")
@location_options
@baselines_dir_option
def fiftyone_export(results, baseline, suites, out, force, baselines_dir, cache, suites_dir, data) -> None:
    """Write RESULTS (a verdict, a `compare --out` folder or a results folder) as a FiftyOne dataset folder."""
    from gate.integrations.fiftyone_export import export_fiftyone

    summary = export_fiftyone(results, out, baseline=baseline, suites=list(suites) or None, force=force, cache=cache,
                              suites_dir=suites_dir, data=data, baselines_dir=baselines_dir)
    click.echo(f"wrote {summary.samples} samples of {len(summary.suites)} suite(s) to {out} "
               f"({summary.dataset_type}; label fields: {', '.join(summary.label_fields)})")
    click.echo("failure tags: " + ", ".join(f"{tag} {n}" for tag, n in summary.tag_counts.items()))
    for note in summary.notes:
        click.echo(f"note: {note}")
