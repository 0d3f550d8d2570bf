"""Did the candidate's preprocessing change against the baseline's? Card settings and probe tensors.

A changed resize, normalisation or channel order moves every metric at once and explains a drop
before any per-class figure does, so the verdict names it as its own finding. Two sources:
- the card's `preprocessing` settings, from each run record (or, for records written before they
  carried them, from the card at the recorded model path when its sha256 still matches);
- the torch probe tensors of each run's parity check (`parity.json`): the same probe images turned
  into different tensors means the preprocessing really changed, whatever the cards say.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gate.results.opened import ResultsFolder
from gate.results.record import RunRecord
from gate.results.verdict import PreprocessingComparison
from gate.storage import sha256_file

__all__ = ["PreprocessingComparison", "card_preprocessing", "compare_preprocessing"]


def card_preprocessing(record: RunRecord) -> dict[str, Any] | None:
    """The preprocessing settings a run used: from its record, else from the unchanged card on disk."""
    if record.model.preprocessing is not None:
        return record.model.preprocessing
    from gate.cards.card import card_path, load_card

    folder = Path(record.model.path)
    try:
        path = card_path(folder)
        if not path.is_file() or sha256_file(path) != record.model.card_sha256:
            return None
        return load_card(folder, verify_weights=False).preprocessing.model_dump(mode="json")
    except Exception:  # noqa: BLE001 - an unreadable card only means the settings cannot be compared
        return None


def _flatten(settings: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _probe(folder: ResultsFolder) -> tuple[str, str] | None:
    """(probe pixels sha256, reference tensor sha256) of a run's parity check, if it ran one."""
    rel = folder.record.parity_file
    if not rel or not (folder.path / rel).is_file():
        return None
    parity = folder.parity()
    tensor = next((e.tensor_sha256 for e in parity.entries if e.backend == parity.reference), None)
    return (parity.probe_pixels_sha256, tensor) if tensor else None


def compare_preprocessing(candidate: ResultsFolder, baseline: ResultsFolder) -> PreprocessingComparison:
    """Every card setting that differs, by name, and whether the probe tensors agree."""
    result = PreprocessingComparison()
    cand, base = card_preprocessing(candidate.record), card_preprocessing(baseline.record)
    if cand is None or base is None:
        side = "candidate" if cand is None else "baseline"
        result.unchecked.append(f"card settings: the {side}'s run record lacks them and its card changed or is gone")
    else:
        flat_c, flat_b = _flatten(cand), _flatten(base)
        for key in sorted(set(flat_c) | set(flat_b)):
            if flat_c.get(key) != flat_b.get(key):
                result.changes.append(f"{key}: {flat_b.get(key)} -> {flat_c.get(key)}")
    probe_c, probe_b = _probe(candidate), _probe(baseline)
    if probe_c is None or probe_b is None:
        result.unchecked.append("probe tensors: a side ran no parity probe")
    elif probe_c[0] != probe_b[0]:
        result.unchecked.append("probe tensors: the two runs probed different images")
    elif probe_c[1] != probe_b[1]:
        result.probe = f"the same probe images give different input tensors ({probe_b[1][:12]} -> {probe_c[1][:12]})"
        result.changes.append(f"probe tensor sha256: {probe_b[1][:12]} -> {probe_c[1][:12]}")
    else:
        result.probe = f"the same probe images give identical input tensors ({probe_c[1][:12]})"
    result.changed = bool(result.changes)
    return result
