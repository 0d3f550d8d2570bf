"""`tsrgate mine` (rank a pool of images by how hard the model finds them) and `tsrgate mined-dataset`."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("mine")
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("pool", type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="Output folder: mined.json, sheet.html, to_label/ (refused if it exists, unless --force).")
@click.option("--top", default=50, show_default=True, type=click.IntRange(1, 100000),
              help="Images on the contact sheet and in the to_label export.")
@click.option("--labels", type=click.Path(path_type=Path),
              help="COCO annotations (file or dataset folder) for the pool: real misses and confusions count too.")
@click.option("--backends", default="torch", show_default=True,
              help="Comma-separated backends; the first is the reference, the others add the disagreement signal.")
@click.option("--training-data", type=click.Path(path_type=Path),
              help="The model's training dataset, when it is not where the model card says (rare-class counts).")
@click.option("--force", is_flag=True, help="Replace an existing output folder.")
def mine_command(model: Path, pool: Path, out: Path, top: int, labels: Path | None, backends: str,
                 training_data: Path | None, force: bool) -> None:
    """Score every image of POOL (a folder of images or a dataset folder) with MODEL and rank them."""
    from gate.mining import MiningSettings, mine_pool, write_mining_output
    from gate.storage import check_output_dir

    check_output_dir(out, force)  # refuse before spending minutes on inference
    run = mine_pool(model, pool, labels=labels, backends=backends.split(","), settings=MiningSettings(top=top),
                    training_data=training_data, progress=True)
    output = write_mining_output(run, out, force=force)
    result = run.result
    click.echo(f"mined {result.pool.images_mined} of {result.pool.images_found} images of {result.pool.path} "
               f"with {result.model.name} {result.model.version} ({', '.join(result.backends)})")
    for note in run.pool.notes:
        click.echo(f"note: {note}")
    if result.unreadable:
        click.echo(f"skipped {len(result.unreadable)} unreadable image(s):")
        for item in result.unreadable[:20]:
            click.echo(f"  {item.file}: {item.problem}")
        if len(result.unreadable) > 20:
            click.echo(f"  ... and {len(result.unreadable) - 20} more (listed in mined.json)")
    unavailable = [s for s in result.signals if not s.available]
    for status in unavailable:
        click.echo(f"signal {status.name} not used: {status.note}")
    click.echo(f"{'rank':>4} {'score':>6}  file / reasons")
    for img in result.top_images(min(10, top)):
        click.echo(f"{img.rank:>4} {img.score:>6.3f}  {img.file}")
        for reason in img.reasons[:3]:
            click.echo(f"{'':13}- {reason}")
    click.echo(f"wrote {output.result_path}, {output.sheet_path} and {output.exported} images to label in "
               f"{output.to_label_dir}")


@click.command("mined-dataset")
@click.argument("mined", type=click.Path(path_type=Path))
@click.option("--labels", required=True, type=click.Path(path_type=Path),
              help="COCO annotations (file or dataset folder) covering the mined images, matched by file name.")
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="Dataset folder to write (images/ + annotations.json), usable as a suite spec's source.")
@click.option("--top", type=click.IntRange(1, 100000), help="Only the first N exported images (default: all).")
@click.option("--force", is_flag=True, help="Replace an existing output folder.")
def mined_dataset_command(mined: Path, labels: Path, out: Path, top: int | None, force: bool) -> None:
    """Turn a mining output folder MINED plus labels into a dataset folder for `tsrgate suite build`."""
    from gate.mining import build_labelled_dataset

    report = build_labelled_dataset(mined, labels, out, top=top, force=force)
    click.echo(f"wrote {report.folder}: {report.images} images, {report.boxes} boxes "
               f"(mined list sha256 {report.mined_list_sha256[:12]}, labels sha256 {report.labels_sha256[:12]})")
    if report.unlabelled:
        click.echo(f"left out {len(report.unlabelled)} mined image(s) the labels do not cover: "
                   f"{', '.join(report.unlabelled[:5])}{' ...' if len(report.unlabelled) > 5 else ''}")
    click.echo(f"use it in a suite spec as   source: {{dataset: {report.folder}}}")


COMMANDS = [mine_command, mined_dataset_command]
