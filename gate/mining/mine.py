"""`mine_pool`: score every image of a pool with every signal, then rank.

Images are streamed: each batch is decoded, run through the reference backend (with class-score
vectors) and the other backends, measured, and reduced to its `MinedImage` fields before the next
batch is read; only the considered detections are kept, for the labelled pass and the sheet.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from gate.backends import backend_class, create_backend
from gate.backends.detections import Detections
from gate.data.coco import CocoDataset
from gate.data.phash import perceptual_hash
from gate.errors import InputError
from gate.mining import scene as scene_signals
from gate.mining import signals as model_signals
from gate.mining.inference import ScoredDetections, infer_with_class_scores
from gate.mining.labelled import LabelledImage, labelled_classes, labelled_errors, labelled_view
from gate.mining.pool import MiningPool, PoolImage, open_pool
from gate.mining.ranking import combined_score, order_reasons, rank_images
from gate.mining.rarity import training_rarity
from gate.mining.results import (
    MinedDetection,
    MinedImage,
    MiningResult,
    ModelReference,
    PoolRecord,
    RarityTable,
    SceneStatistics,
    SignalStatus,
    UnreadableImage,
)
from gate.mining.settings import (
    BACKEND_DISAGREEMENT,
    CLASS_ENTROPY,
    CLASS_MARGIN,
    CONFUSED,
    LABELLED_SIGNALS,
    MISSED,
    NEAR_THRESHOLD,
    RARE_CLASS,
    SIGNALS,
    TINY_OBJECTS,
    MiningSettings,
    MiningWeights,
)
from gate.cards.card import ModelCard, load_card
from gate.cards.classes import card_class_map
from gate.provenance import library_versions
from gate.storage import sha256_bytes


@dataclass
class _Measured:
    """One image after the streaming pass, before the labelled pass and ranking."""

    item: PoolImage
    sha256: str
    width: int
    height: int
    phash: str
    scene: SceneStatistics
    considered: Detections
    described: list[MinedDetection]
    readings: dict[str, model_signals.SignalReading] = field(default_factory=dict)


@dataclass
class MiningRun:
    """A finished mining pass: the result, and the pool it came from (to copy and draw its images)."""

    result: MiningResult
    pool: MiningPool


def decode_image(data: bytes) -> Image.Image:
    """Decode image bytes to RGB; raises ValueError with the decoder's complaint."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            rgb = img.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ValueError(str(exc) or type(exc).__name__) from None
    if rgb.width == 0 or rgb.height == 0:
        raise ValueError("image has no pixels")
    return rgb


def _available_signals(backends: Sequence[str], rarity: RarityTable, labelled: bool) -> list[str]:
    out = []
    for signal in SIGNALS:
        if signal == BACKEND_DISAGREEMENT and len(backends) < 2:
            continue
        if signal == RARE_CLASS and not rarity.available:
            continue
        if signal in LABELLED_SIGNALS and not labelled:
            continue
        out.append(signal)
    return out


def _signal_statuses(backends: Sequence[str], rarity: RarityTable, pool: MiningPool,
                     weights: MiningWeights) -> list[SignalStatus]:
    statuses = []
    for signal in SIGNALS:
        available, note = True, ""
        if signal == BACKEND_DISAGREEMENT:
            available = len(backends) > 1
            note = f"{backends[0]} vs {', '.join(backends[1:])}" if available else "needs a second backend (--backends)"
        elif signal == RARE_CLASS:
            available, note = rarity.available, rarity.source
        elif signal in LABELLED_SIGNALS:
            available = pool.labels is not None
            note = (f"labels {pool.labels.path}: {len(pool.labelled_ids())} of {len(pool.images)} pool images"
                    if pool.labels is not None else "needs labels (a dataset pool or --labels)")
        statuses.append(SignalStatus(name=signal, weight=weights.of(signal), available=available, note=note))
    return statuses


def _model_readings(measured: _Measured, card: ModelCard, settings: MiningSettings, rarity: RarityTable,
                    disagreements: dict[str, model_signals.Disagreement], reference: str) -> None:
    threshold = card.postprocessing.operating_threshold
    described = measured.described
    readings = measured.readings
    readings[NEAR_THRESHOLD] = model_signals.near_threshold(described, threshold, settings.near_band)
    readings[CLASS_MARGIN] = model_signals.class_margin(described)
    readings[CLASS_ENTROPY] = model_signals.class_entropy(described)
    readings[TINY_OBJECTS] = model_signals.tiny_objects(described, settings.tiny_px, settings.tiny_saturation)
    if rarity.available:
        readings[RARE_CLASS] = model_signals.rare_class(described, rarity)
    if disagreements:
        readings[BACKEND_DISAGREEMENT] = model_signals.backend_disagreement(
            disagreements, reference, settings.disagreement_saturation)
    strengths = scene_signals.scene_strengths(measured.scene)
    for name, strength in strengths.items():
        reason = scene_signals.scene_reason(name, measured.scene)
        readings[name] = model_signals.SignalReading(strength, {}, reason)


def _measure_batch(batch: list[tuple[PoolImage, bytes, Image.Image]], reference, others, card: ModelCard,
                   settings: MiningSettings, rarity: RarityTable, floor: float) -> list[_Measured]:
    pixels = [np.asarray(img) for _, _, img in batch]
    ids = [item.image_id for item, _, _ in batch]
    scored: list[ScoredDetections] = infer_with_class_scores(reference, pixels, ids)
    other_detections = {backend.name: backend.infer(pixels, ids) for backend in others}
    threshold = card.postprocessing.operating_threshold
    out = []
    for k, (item, data, img) in enumerate(batch):
        found = scored[k]
        keep = found.detections.scores >= floor
        considered = Detections(item.image_id, found.detections.boxes[keep], found.detections.scores[keep],
                                found.detections.labels[keep])
        described = model_signals.describe_detections(found.detections, found.class_scores, card.class_names, floor,
                                                      settings.entropy_top_classes)
        disagreements = {name: model_signals.count_disagreement(found.detections, dets[k], threshold,
                                                                settings.disagreement_iou)
                         for name, dets in other_detections.items()}
        measured = _Measured(item=item, sha256=sha256_bytes(data), width=img.width, height=img.height,
                             phash=f"{perceptual_hash(img):016x}", scene=scene_signals.scene_statistics(pixels[k]),
                             considered=considered, described=described)
        _model_readings(measured, card, settings, rarity, disagreements, reference.name)
        out.append(measured)
    return out


def _labelled_pass(measured: list[_Measured], pool: MiningPool, card: ModelCard, rarity: RarityTable,
                   settings: MiningSettings) -> None:
    if pool.labels is None:
        return
    labelled = [LabelledImage(m.item.image_id, m.width, m.height, m.considered)
                for m in measured if m.item.image_id in pool.labels.by_image]
    if not labelled:
        return
    recipe_classes = card.training.recipe.content.get("classes") if card.training is not None else None
    view = labelled_view(pool.labels, labelled, card.class_names, recipe_classes)
    errors = labelled_errors(view, labelled, card.postprocessing.operating_threshold)
    classes = labelled_classes(view)
    for m in measured:
        image_errors = errors.get(m.item.image_id)
        if image_errors is None:
            continue
        m.readings[MISSED] = model_signals.missed_signal(image_errors)
        m.readings[CONFUSED] = model_signals.confused_signal(image_errors)
        if rarity.available:
            m.readings[RARE_CLASS] = model_signals.rare_class(m.described, rarity, classes[m.item.image_id])


def _mined_image(m: _Measured, available: list[str], weights: MiningWeights, settings: MiningSettings) -> MinedImage:
    present = [s for s in available if s in m.readings]
    signals = {s: round(float(m.readings[s].strength), 6) for s in present}
    measurements: dict[str, float | int | str] = {}
    reasons: dict[str, str] = {}
    for s in present:
        measurements.update(m.readings[s].measurements)
        if m.readings[s].reason:
            reasons[s] = m.readings[s].reason
    tags = dict(m.item.info.tags) if m.item.info is not None else {}
    return MinedImage(
        image_id=m.item.image_id, file=m.item.file, sha256=m.sha256, width=m.width, height=m.height, tags=tags,
        phash=m.phash, labelled=MISSED in m.readings, scene=m.scene, detections=m.described, signals=signals,
        measurements=measurements, reasons=order_reasons(reasons, signals, weights, settings.reason_strength),
        score=round(combined_score(signals, weights, present), 6),
    )


def _check_label_classes(pool: MiningPool, card: ModelCard, explicit: bool) -> None:
    """Labels must name the model's classes; a dataset pool's own labels that do not are just not used."""
    if pool.labels is None:
        return
    recipe_classes = card.training.recipe.content.get("classes") if card.training is not None else None
    categories = CocoDataset(images=[], annotations=[], categories=pool.labels.categories)
    try:
        card_class_map(card.class_names, categories, recipe_classes, path=pool.labels.path)
    except InputError as exc:
        if explicit:
            raise
        pool.notes.append(f"the pool's own annotations do not fit the model's classes ({exc.problem}); "
                          "missed/confused signals not used")
        pool.labels = None


def _backend_names(backends: Sequence[str]) -> list[str]:
    names = []
    for name in backends:
        name = name.strip()
        if name and name not in names:
            backend_class(name)  # an unknown name is an InputError listing the known ones
            names.append(name)
    if not names:
        raise InputError("--backends: expected at least one backend name, e.g. torch or torch,int8")
    return names


def mine_pool(model_dir: str | Path, pool_path: str | Path, *, labels: str | Path | None = None,
              backends: Sequence[str] = ("torch",), settings: MiningSettings | None = None,
              weights: MiningWeights | None = None, training_data: str | Path | None = None,
              progress: bool = False, backend_options: dict[str, dict] | None = None) -> MiningRun:
    """Score and rank every readable image of the pool (see the package docstring)."""
    from tqdm import tqdm

    settings = settings or MiningSettings()
    weights = weights or MiningWeights()
    names = _backend_names(backends)
    card = load_card(model_dir)
    pool = open_pool(pool_path, labels)
    _check_label_classes(pool, card, explicit=labels is not None)
    rarity = training_rarity(card, training_data)
    threshold = card.postprocessing.operating_threshold
    floor = max(card.postprocessing.score_threshold, threshold - settings.near_band)
    options = backend_options or {}
    loaded = [create_backend(name, model_dir, **options.get(name, {})).load() for name in names]
    reference, others = loaded[0], loaded[1:]
    measured: list[_Measured] = []
    unreadable: list[UnreadableImage] = []
    pending: list[tuple[PoolImage, bytes, Image.Image]] = []
    try:
        with tqdm(total=len(pool.images), desc="mine", unit="img", disable=not progress, leave=False) as bar:
            for item in pool.images:
                try:
                    data = item.path.read_bytes()
                    pending.append((item, data, decode_image(data)))
                except (OSError, ValueError) as exc:
                    problem = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                    unreadable.append(UnreadableImage(file=item.file, problem=f"unreadable image ({problem})"))
                    bar.update(1)
                if len(pending) == settings.batch_size:
                    measured += _measure_batch(pending, reference, others, card, settings, rarity, floor)
                    bar.update(len(pending))
                    pending = []
            if pending:
                measured += _measure_batch(pending, reference, others, card, settings, rarity, floor)
                bar.update(len(pending))
    finally:
        for backend in loaded:
            backend.close()
    if not measured:
        first = unreadable[0] if unreadable else None
        raise InputError(f"no readable image in the pool ({len(unreadable)} unreadable"
                         + (f", first {first.file}: {first.problem})" if first else ")"), path=pool.root)
    _labelled_pass(measured, pool, card, rarity, settings)
    available = _available_signals(names, rarity, pool.labels is not None)
    images = [_mined_image(m, available, weights, settings) for m in measured]
    result = MiningResult(
        model=ModelReference(name=card.name, version=card.version, weights_sha256=card.weights.sha256,
                             operating_threshold=threshold, class_names=list(card.class_names)),
        pool=PoolRecord(path=str(pool.root), kind=pool.kind, images_found=len(pool.images), images_mined=len(images),
                        labels=str(pool.labels.path) if pool.labels else None,
                        labels_sha256=pool.labels.sha256 if pool.labels else None,
                        labelled_images=sum(1 for i in images if i.labelled)),
        backends=names, weights=weights, settings=settings,
        signals=_signal_statuses(names, rarity, pool, weights), rarity=rarity,
        libraries=library_versions(), images=rank_images(images, settings.duplicate_distance),
        unreadable=unreadable,
    )
    return MiningRun(result=result, pool=pool)
