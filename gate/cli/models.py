"""`tsrgate train | ingest | predict`: make candidate models and run them over a dataset."""

from __future__ import annotations

from pathlib import Path

import click

from gate.cli.options import threads_option


@click.command()
@click.option("--data", "data_dir", required=True, type=click.Path(path_type=Path), help="COCO dataset folder.")
@click.option("--recipe", "recipe_path", required=True, type=click.Path(path_type=Path), help="Recipe YAML.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Model folder to write, e.g. models/NAME.")
@click.option("--resume", is_flag=True, help="Continue from the checkpoint of an interrupted run.")
@click.option("--force", is_flag=True, help="Replace an existing model folder / discard an old checkpoint.")
@click.option("--work-dir", type=click.Path(path_type=Path), default=None,
              help="Checkpoint folder (default: .cache/tsrgate-train/NAME).")
@click.option("--stop-after", type=int, default=None, help="Stop after this many steps, keeping a checkpoint.")
@click.option("--version", "model_version", default="1.0.0", show_default=True, help="Model version for the card.")
@click.option("--no-progress", is_flag=True, help="No progress bar (logs only).")
def train(data_dir, recipe_path, out, resume, force, work_dir, stop_after, model_version, no_progress) -> None:
    """Train an RT-DETR detector on DATA with RECIPE and write the model folder OUT."""
    from gate.models.train import train_model

    outcome = train_model(data_dir, recipe_path, out, work_dir=work_dir, resume=resume, force=force,
                          progress=not no_progress, stop_after=stop_after, version=model_version)
    if outcome.model_dir is None:
        click.echo(f"stopped after step {outcome.steps_done}/{outcome.total_steps}; continue with --resume")
        return
    click.echo(f"wrote {outcome.model_dir} ({outcome.steps_done} steps, {outcome.seconds:.0f} s)")
    for record in outcome.card.evaluation:
        click.echo(f"  {record.split}: AP {record.ap:.3f}  AP50 {record.ap50:.3f}  AP75 {record.ap75:.3f}  "
                   f"AP_small {record.ap_small:.3f}  AP_medium {record.ap_medium:.3f}")


@click.command()
@click.argument("src", type=click.Path(path_type=Path))
@click.option("--card", "card_path", required=True, type=click.Path(path_type=Path), help="Card (YAML or JSON).")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Model folder to write.")
@click.option("--name", default=None, help="Model name (default: the card's, else the folder name).")
@click.option("--trust-pickle", is_flag=True, help="Allow a pickled checkpoint (.pt/.bin/.pth): it runs code.")
@click.option("--force", is_flag=True, help="Replace an existing model folder.")
def ingest(src, card_path, out, name, trust_pickle, force) -> None:
    """Ingest SRC (HF RT-DETR folder, .safetensors or .onnx) with its card into the model folder OUT."""
    from gate.models.ingest import ingest_model

    card = ingest_model(src, card_path, out, trust_pickle=trust_pickle, force=force, name=name)
    click.echo(f"wrote {out}: {card.name} {card.version}, {card.num_classes} classes, "
               f"{card.architecture.format} sha256 {card.weights.sha256[:12]}")


@click.command()
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.argument("data_dir", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None, help="COCO results JSON to write.")
@click.option("--backend", "backend_name", default="torch", show_default=True, help="Backend to run.")
@click.option("--split", default=None, help="Only images whose TAG equals VALUE, as TAG=VALUE (e.g. split=test).")
@click.option("--limit", type=int, default=None, help="Only the first N selected images.")
@click.option("--batch-size", type=int, default=4, show_default=True)
@threads_option()
@click.option("--evaluate", is_flag=True, help="Also print COCO AP (pycocotools) against the dataset's boxes.")
@click.option("--gt-out", type=click.Path(path_type=Path), default=None,
              help="Write the ground truth as the model's classes see it (for supercategory models).")
def predict(model_dir, data_dir, out, backend_name, split, limit, batch_size, threads, evaluate, gt_out) -> None:
    """Run MODEL_DIR over the images of DATA_DIR; write COCO results and/or print AP."""
    from gate.backends.detections import detections_to_coco_results
    from gate.data.coco import save_coco
    from gate.errors import InputError
    from gate.models.evaluate import coco_metrics, predict_model_folder
    from gate.storage import atomic_write_json

    if out is None and not evaluate and gt_out is None:
        raise InputError("nothing to do: pass --out, --evaluate or --gt-out")
    tag, sep, value = (split or "").partition("=")
    if split and not sep:
        raise InputError(f"--split: expected TAG=VALUE, got {split!r}")
    found = predict_model_folder(model_dir, data_dir, tag or None, [value], limit=limit, backend_name=backend_name,
                                 threads=threads, batch_size=batch_size, progress=True)
    detections = found.detections
    if out is not None:
        atomic_write_json(out, detections_to_coco_results(detections, found.category_ids))
        note = "" if found.native_categories else " (category ids are the model's classes 1..K; see --gt-out)"
        click.echo(f"wrote {out}: {sum(len(d) for d in detections)} detections on {len(found.image_ids)} images{note}")
    if gt_out is not None:
        save_coco(found.ground_truth, gt_out)
        click.echo(f"wrote {gt_out}: ground truth in the model's {len(found.card.class_names)} classes")
    if evaluate:
        record = coco_metrics(found.ground_truth, detections, split=split or "all")
        click.echo(f"AP {record.ap:.3f}  AP50 {record.ap50:.3f}  AP75 {record.ap75:.3f}  AP_small {record.ap_small:.3f}  "
                   f"AP_medium {record.ap_medium:.3f}  AP_large {record.ap_large:.3f}  AR100 {record.ar100:.3f}")
        for name, value in record.per_class_ap50.items():
            click.echo(f"  {name:<32} AP50 {value:.3f}")


@click.command()
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.option("--suite", "suite_names", multiple=True, required=True, help="Suite name (repeatable).")
@click.option("--backend", "backend_name", default="torch", show_default=True, help="Backend to run.")
@threads_option()
@click.option("--record", is_flag=True, help="Write the numbers into the model card (weights untouched).")
def measure(model_dir, suite_names, backend_name, threads, record) -> None:
    """Measure MODEL_DIR on scenario suites (pycocotools AP); --record keeps the numbers in its card."""
    from gate.cards.card import card_path
    from gate.models.evaluate import evaluate_model_on_suite, record_card_evaluation

    for name in suite_names:
        metrics = evaluate_model_on_suite(model_dir, name, backend_name=backend_name, threads=threads, progress=True)
        click.echo(f"{metrics.split}: {metrics.images} images, {metrics.boxes} signs: AP {metrics.ap:.3f}  "
                   f"AP50 {metrics.ap50:.3f}  AP75 {metrics.ap75:.3f}  AR100 {metrics.ar100:.3f}")
        sizes = "  ".join(f"{k} {v:.3f}" for k, v in metrics.per_size_ap50.items() if v >= 0)
        click.echo(f"  AP50 by size: {sizes}")
        if record:
            record_card_evaluation(model_dir, metrics)
            click.echo(f"  recorded in {card_path(model_dir)}")


COMMANDS = [train, ingest, predict, measure]
