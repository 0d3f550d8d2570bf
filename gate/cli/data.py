"""`tsrgate data ...`: import, check and synthesise datasets."""

from __future__ import annotations

from pathlib import Path

import click

from gate.errors import EXIT_FINDINGS

IMPORT_FORMATS = ("gtsdb", "voc", "yolo", "coco")  # = gate.data.importers.FORMATS, kept here so --help stays light


@click.group()
def data() -> None:
    """Import, check and generate datasets (COCO folders)."""


# --- import --------------------------------------------------------------------------------------


@data.command("import", short_help="Convert a GTSDB, VOC, YOLO or COCO folder into a dataset folder.")
@click.argument("fmt", metavar="{" + ",".join(IMPORT_FORMATS) + "}", type=click.Choice(IMPORT_FORMATS))
@click.argument("src", type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(path_type=Path))
@click.option(
    "--classes",
    "classes_file",
    type=click.Path(path_type=Path),
    help="voc: class list (one per line) fixing the ids; yolo: classes.txt or data.yaml (default: found in SRC).",
)
@click.option(
    "--images",
    "images_dir",
    type=click.Path(path_type=Path),
    help="coco: folder the file_names are relative to (default: images/ beside the JSON, else its folder).",
)
@click.option("--force", is_flag=True, help="Replace OUT if it already exists.")
def import_command(
    fmt: str, src: Path, out: Path, classes_file: Path | None, images_dir: Path | None, force: bool
) -> None:
    """Convert SRC (GTSDB, Pascal VOC, YOLO or COCO) into the dataset folder OUT (images/ + annotations.json)."""
    from gate.data.importers import import_dataset

    summary = import_dataset(fmt, src, out, force=force, classes_file=classes_file, images_dir=images_dir)
    click.echo(
        f"imported {summary.images} images, {summary.annotations} annotations "
        f"({summary.ignore_regions} ignore regions), {summary.categories} categories from {fmt} {src} into {out}"
    )
    if summary.images_without_annotations:
        click.echo(f"{summary.images_without_annotations} images have no annotations")


# --- check ---------------------------------------------------------------------------------------


def _print_check_report(report) -> None:
    stats = report.statistics
    for problem in report.problems:
        click.echo(problem.line())
    click.echo(f"dataset: {report.dataset} (annotations sha256 {report.annotations_sha256[:12]})")
    click.echo(
        f"images: {stats.images} ({stats.images_without_boxes} without boxes)   boxes: {stats.boxes}"
        f" (+{stats.ignore_regions} ignore regions)   classes: {stats.categories} ({len(stats.empty_classes)} empty)"
    )
    click.echo("box size, longer side px: " + "   ".join(f"{b.label}: {b.boxes}" for b in stats.size_histogram))
    if stats.boxes_per_class:
        width = max(len(c.name) for c in stats.boxes_per_class)
        click.echo("boxes per class:")
        click.echo(f"  {'id':>4}  {'name':<{width}}  {'supercategory':<13}  {'boxes':>6}")
        for c in stats.boxes_per_class:
            click.echo(f"  {c.id:>4}  {c.name:<{width}}  {c.supercategory:<13}  {c.boxes:>6}")
    if report.warnings:
        click.echo(f"warnings ({len(report.warnings)}):")
        for warning in report.warnings:
            click.echo(f"  {warning.line()}")
    if report.accepted:
        click.echo(f"accepted findings ({len(report.accepted)}, reviewed in {report.accepted_from}):")
        for item in report.accepted:
            click.echo(f"  {item.problem.line()}")
            click.echo(f"      accepted because: {item.why}")
    if report.problems:
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(report.problem_kinds().items()))
        click.echo(f"{len(report.problems)} problems found ({kinds})")
    else:
        click.echo("no problems found")


@data.command("check", short_help="Curation checks and statistics of a dataset folder.")
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option(
    "--json", "json_out", metavar="FILE", help="Also write the report as JSON to FILE ('-': only JSON, on stdout)."
)
@click.option(
    "--accept",
    type=click.Path(path_type=Path),
    help="YAML of reviewed findings (kind, file, why) that are listed but do not fail the check "
    "(default: the bundled file written for this exact annotations.json, if any).",
)
@click.option("--no-accept", is_flag=True, help="Apply no accepted findings at all, not even bundled ones.")
@click.pass_context
def check_command(
    ctx: click.Context, dataset: Path, json_out: str | None, accept: Path | None, no_accept: bool
) -> None:
    """Curation checks and statistics for DATASET; exit 0 clean, 1 problems found, 2 unusable input."""
    from gate.data.check import check_dataset
    from gate.errors import InputError
    from gate.storage import atomic_write_text, dump_json

    if accept and no_accept:
        raise InputError("--accept and --no-accept exclude each other")
    report = check_dataset(dataset, accept=accept, use_bundled=not no_accept)
    text = dump_json(report.model_dump(mode="json"))
    if json_out == "-":
        click.echo(text, nl=False)
    else:
        _print_check_report(report)
        if json_out:
            atomic_write_text(json_out, text)
    if not report.clean:
        ctx.exit(EXIT_FINDINGS)


# --- synth ---------------------------------------------------------------------------------------


@data.command("synth", short_help="Generate the traffic-sign world (the embedded default dataset).")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--images", type=click.IntRange(min=1), default=1000, show_default=True, help="Number of images.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="World seed.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Render processes (default: up to 2).")
@click.option("--force", is_flag=True, help="Replace OUT if it already exists.")
def synth_command(out: Path, images: int, seed: int, workers: int | None, force: bool) -> None:
    """Render IMAGES road scenes with procedurally drawn signs into the dataset folder OUT.

    The same seed gives byte-identical images and annotations.json (for one world version).
    """
    import sys

    from gate.data.synth import WORLD_VERSION, generate_world
    from gate.storage import check_output_dir, sha256_file

    check_output_dir(out, force)  # refuse before spending minutes rendering
    with click.progressbar(length=images, label="rendering", file=sys.stderr) as bar:
        generate_world(out, images, seed, force=force, workers=workers, on_image=lambda done: bar.update(1))
    digest = sha256_file(out / "annotations.json")
    click.echo(f"wrote {images} images (world version {WORLD_VERSION}, seed {seed}) to {out} "
               f"(annotations sha256 {digest[:12]})")


COMMANDS = [data]
