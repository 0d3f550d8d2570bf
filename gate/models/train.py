"""`tsrgate train`: train an RT-DETR detector from a recipe, resumably and deterministically.

Determinism: every random choice of step `s` (which images, which crops, which colours, the
denoising noise inside RT-DETR) is drawn from generators seeded with (recipe seed, s), so the run is
a pure function of the recipe, the data and the state at the start of a step. A checkpoint holds
that state (weights, optimizer, scheduler, mining weights, logs), so a resumed run continues
exactly where an uninterrupted one would be. Thread count is fixed by the recipe and
`torch.use_deterministic_algorithms` is on.

Layout while training: `<work>/checkpoint/` (latest checkpoint, replaced atomically). The model
folder itself is built in a staging folder and renamed into place at the end, so an interrupted or
failed run never leaves a partial model folder behind.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gate.backends.preprocess import to_model_input
from gate.data.dataset import DetectionDataset, read_rgb
from gate.errors import InputError, RefusedError
from gate.models.augment import geometric_view, photometric
from gate.cards.card import (
    SAFETENSORS_FILE,
    ArchitectureSpec,
    MetricsRecord,
    ModelCard,
    RecipeRecord,
    SplitSelector,
    TrainingDataRecord,
    TrainingRecord,
    WeightsRecord,
    save_card,
)
from gate.cards.classes import ClassMap, class_view, resolve_classes, select_images
from gate.models.evaluate import coco_metrics, image_errors, summarize_errors
from gate.cards.recipe import Recipe, load_recipe
from gate.models.sampling import draw_batch, repeat_factors, sampling_probabilities, update_mining_weights
from gate.provenance import library_versions
from gate.storage import atomic_write_json, check_output_dir, sha256_file, staged_dir

CHECKPOINT_DIR = "checkpoint"
TRAINER_STATE = "trainer_state.pt"
TRAINING_DIR = "training"
TRAINING_LIBRARIES = ("tsrgate", "torch", "transformers", "numpy", "pillow")  # recorded in the card
_STREAM_SAMPLING, _STREAM_VIEW, _STREAM_MINING, _STREAM_TORCH, _STREAM_PRETRAIN = 1, 2, 3, 4, 5


def default_work_dir(out: Path) -> Path:
    """Where checkpoints live while training (`.cache/` is ignored by git)."""
    return Path(".cache") / "tsrgate-train" / out.name


@dataclass
class TrainingImages:
    """The training split in memory: ids, files and boxes (xyxy source pixels) with label indices."""

    ids: list[int]
    paths: list[Path]
    boxes: list[np.ndarray]
    labels: list[np.ndarray]

    def __len__(self) -> int:
        return len(self.ids)


def collect_images(dataset: DetectionDataset, ids: list[int], classes: ClassMap) -> TrainingImages:
    by_id = {img.id: img for img in dataset.images}
    boxes, labels, paths = [], [], []
    for image_id in ids:
        own_boxes, own_labels = [], []
        for ann in dataset.annotations_for(image_id):
            label = classes.label_of(ann.category_id)
            if label is None or ann.ignore or ann.iscrowd or ann.bbox[2] <= 0 or ann.bbox[3] <= 0:
                continue
            own_boxes.append(ann.xyxy())
            own_labels.append(label)
        boxes.append(np.asarray(own_boxes, dtype=np.float32).reshape(-1, 4))
        labels.append(np.asarray(own_labels, dtype=np.int64))
        paths.append(dataset.image_path(by_id[image_id]))
    return TrainingImages(list(ids), paths, boxes, labels)


@dataclass
class TrainingOutcome:
    model_dir: Path | None  # None when the run stopped early (stop_after) with a checkpoint
    card: ModelCard | None
    steps_done: int
    total_steps: int
    seconds: float


def _rng(seed: int, step: int, stream: int, index: int = 0) -> np.random.Generator:
    return np.random.default_rng([seed, step, stream, index])


@contextlib.contextmanager
def _torch_configured(threads: int) -> Iterator[None]:
    """Fixed threads and deterministic algorithms for the run; the caller's settings come back after."""
    import torch

    previous = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled(),
                torch.is_deterministic_algorithms_warn_only_enabled())
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set in this process (a second run in the same process)
        pass
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.set_num_threads(previous[0])
        torch.use_deterministic_algorithms(previous[1], warn_only=previous[2])


def _build_optimizer(model, recipe: Recipe, total: int):
    import torch

    groups: dict[tuple[bool, bool], list] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        backbone = ".backbone." in f".{name}"
        decay = param.ndim > 1  # no weight decay on biases and norm scales
        groups.setdefault((backbone, decay), []).append(param)
    opt = recipe.optimizer
    param_groups = [
        {
            "params": params,
            "lr": opt.lr * (opt.backbone_lr_multiplier if backbone else 1.0),
            "weight_decay": opt.weight_decay if decay else 0.0,
        }
        for (backbone, decay), params in sorted(groups.items())
    ]
    optimizer = torch.optim.AdamW(param_groups, lr=opt.lr, betas=opt.betas)
    schedule = recipe.schedule

    def factor(step: int) -> float:
        if schedule.warmup_steps and step < schedule.warmup_steps:
            return (step + 1) / schedule.warmup_steps
        if schedule.name == "constant":
            return 1.0
        span = max(1, total - schedule.warmup_steps)
        progress = min(1.0, (step - schedule.warmup_steps) / span)
        return schedule.min_lr_ratio + (1 - schedule.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    return optimizer, scheduler


def _make_batch(images: TrainingImages, indices: np.ndarray, recipe: Recipe, step: int):
    """Pixel tensor and RT-DETR targets (class_labels, normalised cxcywh boxes) for one step."""
    import torch

    spec = recipe.model.preprocessing
    in_h, in_w = spec.input_size
    views, targets = [], []
    for slot, index in enumerate(indices.tolist()):
        rng = _rng(recipe.seed, step, _STREAM_VIEW, slot)
        view = geometric_view(
            read_rgb(images.paths[index]), images.boxes[index], images.labels[index], spec,
            recipe.augmentation.geometric, rng,
        )
        views.append(photometric(view.pixels, recipe.augmentation.photometric, rng))
        boxes = view.boxes
        centre = np.stack(
            [(boxes[:, 0] + boxes[:, 2]) / 2 / in_w, (boxes[:, 1] + boxes[:, 3]) / 2 / in_h,
             (boxes[:, 2] - boxes[:, 0]) / in_w, (boxes[:, 3] - boxes[:, 1]) / in_h],
            axis=1,
        ).astype(np.float32) if len(boxes) else np.zeros((0, 4), np.float32)
        targets.append({"class_labels": torch.from_numpy(view.labels), "boxes": torch.from_numpy(centre)})
    pixels = torch.from_numpy(to_model_input(np.stack(views), spec).astype(np.float32))
    return pixels, targets


def _provisional_card(name: str, recipe: Recipe, class_names: list[str], config: dict) -> ModelCard:
    """A card for evaluating the in-memory model through the shared pipeline (weights not yet hashed)."""
    return ModelCard(
        name=name,
        architecture=ArchitectureSpec(size=recipe.model.size, config=config),
        class_names=class_names,
        preprocessing=recipe.model.preprocessing,
        postprocessing=recipe.model.postprocessing,
        weights=WeightsRecord(file=SAFETENSORS_FILE, sha256="0" * 64, bytes=0),
    )


class _Evaluator:
    """Validation, test and mining passes over the in-memory model through the torch backend."""

    def __init__(self, dataset: DetectionDataset, classes: ClassMap, card: ModelCard, model, batch_size: int):
        from gate.backends.torch_backend import TorchBackend

        self.dataset = dataset
        self.classes = classes
        self.backend = TorchBackend.from_model(model, card, threads=None)
        self.batch_size = batch_size

    def predict(self, ids: list[int]):
        from gate.backends.predict import predict_dataset

        return predict_dataset(self.backend, self.dataset, ids, batch_size=self.batch_size)

    def metrics(self, ids: list[int], split: str, step: int) -> MetricsRecord:
        gt = class_view(self.dataset.coco, self.classes, set(ids))
        return coco_metrics(gt, self.predict(ids), split=split, step=step)


def _split_ids(dataset: DetectionDataset, selector: SplitSelector | None, limit: int | None = None) -> list[int]:
    if selector is None:
        return []
    ids = select_images(dataset.coco, selector.tag, selector.values)
    return ids[:limit] if limit else ids


def _split_name(selector: SplitSelector) -> str:
    return ",".join(selector.values) if selector.tag else "all"


def _save_checkpoint(work: Path, model, optimizer, scheduler, state: dict[str, Any]) -> None:
    import torch

    from gate.cards.rtdetr import save_weights

    with staged_dir(work / CHECKPOINT_DIR, force=True) as staging:
        save_weights(model, staging / SAFETENSORS_FILE)
        torch.save(
            {
                **state,
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "torch_rng": torch.get_rng_state(),
            },
            staging / TRAINER_STATE,
        )


def _load_checkpoint(work: Path, model, optimizer, scheduler) -> dict[str, Any]:
    import torch

    from gate.cards.rtdetr import load_weights

    folder = work / CHECKPOINT_DIR
    if not (folder / TRAINER_STATE).is_file():
        raise InputError("no checkpoint to resume from", path=folder)
    load_weights(model, folder / SAFETENSORS_FILE)
    try:
        # Our own file, but loaded without pickle code execution all the same.
        state = torch.load(folder / TRAINER_STATE, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable checkpoint is one input error
        raise InputError(f"unreadable checkpoint ({exc})", path=folder / TRAINER_STATE) from None
    optimizer.load_state_dict(state.pop("optimizer"))
    scheduler.load_state_dict(state.pop("scheduler"))
    torch.set_rng_state(state.pop("torch_rng"))
    return state


def train_model(
    data_dir: str | Path,
    recipe: Recipe | str | Path,
    out: str | Path,
    *,
    work_dir: str | Path | None = None,
    resume: bool = False,
    force: bool = False,
    progress: bool = True,
    stop_after: int | None = None,
    version: str = "1.0.0",
    keep_checkpoint: bool = False,
) -> TrainingOutcome:
    """Train a detector on a COCO dataset folder with a recipe and write the model folder `out`.

    `stop_after` ends the run after that many steps with a checkpoint and no model folder, as an
    interruption would (used by tests and for staged runs); `resume` continues from the checkpoint.
    """
    recipe_path = None
    if not isinstance(recipe, Recipe):
        recipe_path = Path(recipe)
        recipe = load_recipe(recipe_path)
    with _torch_configured(recipe.threads):
        return _train(data_dir, recipe, recipe_path, Path(out), work_dir=work_dir, resume=resume, force=force,
                      progress=progress, stop_after=stop_after, version=version, keep_checkpoint=keep_checkpoint)


def _work_folder(out: Path, work_dir: str | Path | None, resume: bool, force: bool) -> tuple[Path, bool]:
    """The work folder (checkpoints) and whether it holds a checkpoint; refuses an ambiguous resume or restart."""
    check_output_dir(out, force)
    work = Path(work_dir) if work_dir is not None else default_work_dir(out)
    has_checkpoint = (work / CHECKPOINT_DIR / TRAINER_STATE).is_file()
    if resume and not has_checkpoint:
        raise InputError("--resume given but there is no checkpoint to resume from", path=work / CHECKPOINT_DIR)
    if has_checkpoint and not resume and not force:
        raise RefusedError("a checkpoint from an earlier run exists; pass --resume to continue or --force "
                           "to start over", path=work / CHECKPOINT_DIR)
    return work, has_checkpoint


@dataclass
class _TrainingData:
    dataset: DetectionDataset
    classes: ClassMap
    images: TrainingImages
    box_count: int
    val_ids: list[int]
    test_ids: list[int]
    annotations_sha256: str


def _training_data(data_dir: str | Path, recipe: Recipe) -> _TrainingData:
    """The dataset, the recipe's classes over it and its train / validation / test images."""
    dataset = DetectionDataset.load(data_dir)
    classes = resolve_classes(dataset.coco, recipe.classes, dataset.annotations_path)
    train_ids = _split_ids(dataset, recipe.splits.train)
    if not train_ids:
        raise InputError(f"no training images: the split {recipe.splits.train.describe()} matches none",
                         path=dataset.annotations_path)
    images = collect_images(dataset, train_ids, classes)
    box_count = int(sum(len(b) for b in images.boxes))
    if box_count == 0:
        raise InputError("no training boxes for the recipe's classes in the training split",
                         path=dataset.annotations_path)
    return _TrainingData(
        dataset=dataset, classes=classes, images=images, box_count=box_count,
        val_ids=_split_ids(dataset, recipe.splits.validate_on, recipe.evaluation.max_images),
        test_ids=_split_ids(dataset, recipe.splits.test_on), annotations_sha256=sha256_file(dataset.annotations_path),
    )


@dataclass
class _Checkpointer:
    """Saves the trainer state with the hashes of what it was trained from, so a resume can check them."""

    work: Path
    recipe_sha256: str
    annotations_sha256: str

    def same_inputs(self, state: dict[str, Any]) -> bool:
        return state["recipe_sha256"] == self.recipe_sha256 and state["annotations_sha256"] == self.annotations_sha256

    def save(self, model, optimizer, scheduler, step: int, mining_weights: np.ndarray, history: dict[str, Any],
             mined: list[dict[str, Any]]) -> None:
        import torch

        _save_checkpoint(self.work, model, optimizer, scheduler, {
            "step": step, "recipe_sha256": self.recipe_sha256, "annotations_sha256": self.annotations_sha256,
            "mining_weights": torch.from_numpy(mining_weights), "history": json.dumps(history),
            "mined": json.dumps(mined),
        })


def _final_evaluation(evaluator, recipe: Recipe, val_ids: list[int], test_ids: list[int], val_name: str, step: int,
                      history: dict[str, Any]) -> list[MetricsRecord]:
    """The card's evaluation after the last step: the test split when the recipe has one, else validation."""
    final_val = evaluator.metrics(val_ids, val_name, step) if val_ids else None
    if final_val is not None:
        history["validation"].append(final_val.model_dump(mode="json"))
    if test_ids:
        return [evaluator.metrics(test_ids, _split_name(recipe.splits.test_on), step)]
    return [final_val] if final_val is not None else []


def _train_step(model, optimizer, scheduler, images: TrainingImages, recipe: Recipe, recipe_path: Path | None,
                step: int, probabilities: np.ndarray) -> float:
    """One optimizer step on a batch drawn for `step` (every random draw is seeded by the recipe seed and the step)."""
    import torch

    indices = draw_batch(_rng(recipe.seed, step, _STREAM_SAMPLING), probabilities, recipe.batch_size)
    pixels, targets = _make_batch(images, indices, recipe, step)
    torch.manual_seed(int(_rng(recipe.seed, step, _STREAM_TORCH).integers(2**62)))
    model.train()
    loss = model(pixel_values=pixels, labels=targets).loss
    if not torch.isfinite(loss):
        raise InputError(f"training diverged: loss is {loss.item()} at step {step + 1}; lower the "
                         "learning rate in the recipe", path=recipe_path)
    loss.backward()
    if recipe.optimizer.grad_clip_norm:
        torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.optimizer.grad_clip_norm)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return float(loss.item())


def _train(
    data_dir: str | Path,
    recipe: Recipe,
    recipe_path: Path | None,
    out: Path,
    *,
    work_dir: str | Path | None,
    resume: bool,
    force: bool,
    progress: bool,
    stop_after: int | None,
    version: str,
    keep_checkpoint: bool,
) -> TrainingOutcome:
    from tqdm import tqdm

    from gate.cards.rtdetr import build_config, build_model, config_to_dict, count_parameters, save_weights

    started = time.monotonic()
    work, has_checkpoint = _work_folder(out, work_dir, resume, force)
    data = _training_data(data_dir, recipe)
    dataset, classes, images, val_ids, test_ids = data.dataset, data.classes, data.images, data.val_ids, data.test_ids
    annotations_sha = data.annotations_sha256
    recipe_sha = recipe.sha256()
    checkpoint = _Checkpointer(work, recipe_sha, annotations_sha)
    total = recipe.total_steps(len(images))

    config = build_config(recipe.model.size, classes.class_names)
    if recipe.loss is not None:
        # Training-only settings, yet kept in the card's config: they are part of how the weights came about.
        for key, value in recipe.loss.config_overrides().items():
            setattr(config, key, value)
    config_dict = config_to_dict(config)
    model = build_model(config_dict, seed=recipe.seed)
    initialized_from = _initialize_from(model, recipe, recipe_path) if recipe.init_from else None
    optimizer, scheduler = _build_optimizer(model, recipe, total)
    factors = repeat_factors(images.labels, len(classes.class_names), recipe.sampling.repeat_factor_threshold)
    mining_weights = np.ones(len(images), dtype=np.float64)
    history: dict[str, Any] = {"loss": [], "validation": [], "segments": []}
    mined: list[dict[str, Any]] = []
    step = 0
    if resume:
        state = _load_checkpoint(work, model, optimizer, scheduler)
        if not checkpoint.same_inputs(state):
            raise RefusedError("the checkpoint was made with a different recipe or dataset; pass --force "
                               "to start over", path=work / CHECKPOINT_DIR)
        step = int(state["step"])
        mining_weights = state["mining_weights"].numpy().astype(np.float64)
        history = json.loads(state["history"])
        mined = json.loads(state["mined"])
    elif has_checkpoint:
        shutil.rmtree(work / CHECKPOINT_DIR)
    if recipe.backbone_pretraining is not None and not resume:
        from gate.models.backbone_pretraining import pretrain_backbone

        history["backbone_pretraining"] = pretrain_backbone(
            model, images.paths, images.boxes, images.labels, len(classes.class_names), recipe.model.preprocessing,
            recipe.backbone_pretraining, recipe.augmentation.photometric,
            lambda s: _rng(recipe.seed, s, _STREAM_PRETRAIN), progress=progress,
        )
        # A checkpoint at step 0, so an interrupted run resumes without pretraining again.
        checkpoint.save(model, optimizer, scheduler, 0, mining_weights, history, mined)

    card = _provisional_card(out.name, recipe, classes.class_names, config_dict)
    evaluator = _Evaluator(dataset, classes, card, model, batch_size=max(1, recipe.batch_size))
    val_name = _split_name(recipe.splits.validate_on) if recipe.splits.validate_on else ""
    interval = recipe.evaluation.interval
    segment_start, segment_step = time.monotonic(), step
    running: list[float] = []
    bar = tqdm(total=total, initial=step, desc=f"train {out.name}", disable=not progress, unit="step",
               dynamic_ncols=True)
    model.train()
    try:
        while step < total:
            if stop_after is not None and step >= stop_after:
                break
            loss = _train_step(model, optimizer, scheduler, images, recipe, recipe_path, step,
                               sampling_probabilities(factors, mining_weights))
            step += 1
            running.append(loss)
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(running[-20:]):.3f}", lr=f"{scheduler.get_last_lr()[0]:.2e}")
            if step % 50 == 0 or step == total:
                history["loss"].append({"step": step, "mean_loss": round(float(np.mean(running)), 6)})
                running = []
            if interval and step % interval == 0 and step < total:
                if val_ids:
                    record = evaluator.metrics(val_ids, val_name, step)
                    history["validation"].append(record.model_dump(mode="json"))
                    bar.write(f"step {step}: validation AP {record.ap:.3f} AP50 {record.ap50:.3f}")
                if recipe.mining.enabled:
                    mining_weights, round_log = _mine(evaluator, images, recipe, step, mining_weights)
                    mined.append(round_log)
            if step % recipe.checkpoint_interval == 0 or (stop_after is not None and step == stop_after):
                history["segments"].append({"from": segment_step, "to": step,
                                            "seconds": round(time.monotonic() - segment_start, 1)})
                segment_start, segment_step = time.monotonic(), step
                checkpoint.save(model, optimizer, scheduler, step, mining_weights, history, mined)
    finally:
        bar.close()
    model.eval()
    if step < total:
        return TrainingOutcome(None, None, step, total, time.monotonic() - started)

    history["segments"].append({"from": segment_step, "to": step, "seconds": round(time.monotonic() - segment_start, 1)})
    evaluation = _final_evaluation(evaluator, recipe, val_ids, test_ids, val_name, step, history)

    with staged_dir(out, force=force) as staging:
        save_weights(model, staging / SAFETENSORS_FILE)
        weights = staging / SAFETENSORS_FILE
        final = card.model_copy(update={
            "version": version,
            "description": recipe.description,
            "weights": WeightsRecord(file=SAFETENSORS_FILE, sha256=sha256_file(weights),
                                     bytes=weights.stat().st_size, parameters=count_parameters(model)),
            "training": TrainingRecord(
                data=TrainingDataRecord(
                    dataset_path=str(dataset.root), annotations_sha256=annotations_sha,
                    dataset_info=_short_info(dataset.coco.info),
                    train_split=recipe.splits.train, validation_split=recipe.splits.validate_on,
                    class_source=classes.source, train_images=len(images), train_boxes=data.box_count,
                ),
                recipe=RecipeRecord(name=recipe.name, sha256=recipe_sha, content=recipe.canonical()),
                seed=recipe.seed, steps=total, threads=recipe.threads, libraries=library_versions(TRAINING_LIBRARIES),
                repeat_factor_threshold=recipe.sampling.repeat_factor_threshold,
                initialized_from=initialized_from,
                backbone_pretraining=history.get("backbone_pretraining"),
                validation_history=[MetricsRecord.model_validate(v) for v in history["validation"]],
            ),
            "evaluation": evaluation,
            "created_by": "train",
        })
        final = type(final).model_validate(final.model_dump())  # re-validate the assembled card
        save_card(final, staging)
        atomic_write_json(staging / TRAINING_DIR / "history.json", history)
        atomic_write_json(staging / TRAINING_DIR / "mined.json", {"rounds": mined})
        atomic_write_json(staging / TRAINING_DIR / "sampling.json", {
            "repeat_factor_threshold": recipe.sampling.repeat_factor_threshold,
            "images": [{"image_id": i, "repeat_factor": round(float(f), 6), "mining_weight": round(float(w), 6)}
                       for i, f, w in zip(images.ids, factors, mining_weights, strict=True)],
        })
    if not keep_checkpoint:
        shutil.rmtree(work / CHECKPOINT_DIR, ignore_errors=True)
    return TrainingOutcome(out, final, step, total, time.monotonic() - started)


def _initialize_from(model, recipe: Recipe, recipe_path: Path | None) -> dict[str, Any]:
    """Copy the parent model's tensors that fit (same name and shape) into the fresh model."""
    from safetensors.torch import load_file

    from gate.cards.card import load_card

    parent_dir = Path(recipe.init_from.model)
    parent = load_card(parent_dir)  # verifies the parent's weights against its card
    if recipe.init_from.weights_sha256 and parent.weights.sha256 != recipe.init_from.weights_sha256:
        raise InputError(f"init_from: the recipe pins weights {recipe.init_from.weights_sha256[:12]}... but "
                         f"{parent_dir} has {parent.weights.sha256[:12]}...", path=recipe_path)
    if parent.architecture.format != "safetensors":
        raise InputError("init_from: expected a safetensors model folder", path=parent_dir)
    source = load_file(str(parent_dir / parent.weights.file))
    state = model.state_dict()
    copied = {k: v for k, v in source.items() if k in state and tuple(v.shape) == tuple(state[k].shape)}
    if not copied:
        raise InputError("init_from: no tensor of the parent fits this architecture", path=parent_dir)
    model.load_state_dict(copied, strict=False)
    return {"name": parent.name, "weights_sha256": parent.weights.sha256, "copied_tensors": len(copied),
            "fresh_tensors": sorted(set(state) - set(copied))}


def _short_info(info: dict[str, Any]) -> dict[str, Any]:
    """The scalar, short fields of a dataset's COCO `info` (how to regenerate or find it again)."""
    return {k: v for k, v in info.items() if isinstance(v, (str, int, float, bool)) and len(str(v)) <= 300}


def _mine(evaluator: _Evaluator, images: TrainingImages, recipe: Recipe, step: int, weights: np.ndarray):
    """Check a fixed-size random sample of training images; the hard ones gain sampling weight."""
    count = min(recipe.mining.images_per_round, len(images))
    chosen = np.sort(_rng(recipe.seed, step, _STREAM_MINING).choice(len(images), size=count, replace=False))
    detections = evaluator.predict([images.ids[i] for i in chosen])
    threshold = recipe.model.postprocessing.operating_threshold
    errors = [
        image_errors(det, images.boxes[i], images.labels[i], threshold, recipe.mining.match_iou)
        for det, i in zip(detections, chosen.tolist(), strict=True)
    ]
    hard = np.asarray([e.hard for e in errors])
    updated = update_mining_weights(weights, hard, chosen, recipe.mining.weight_boost, recipe.mining.max_weight)
    log = {
        "step": step,
        **summarize_errors(errors),
        "hard": [{"image_id": e.image_id, "file_name": images.paths[i].name, "missed": e.missed,
                  "confused": e.confused, "weight": round(float(updated[i]), 6)}
                 for e, i in zip(errors, chosen.tolist(), strict=True) if e.hard],
    }
    return updated, log
