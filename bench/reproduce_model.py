"""Retrain a shipped model from its card's recipe and compare the weights bit for bit.

    .venv/bin/python bench/reproduce_model.py models/synth-baseline [--data WORLD] [--keep OUT]

The recipe is taken from the card (its embedded content, checked against the recorded sha256).
For a model trained on the generated world, the world is regenerated from the generator, seed and
image count recorded in the card unless --data points at an existing copy; the dataset's
annotations sha256 must equal the card's. Exit 0 when every tensor is identical, 1 otherwise.
Too slow for the test suite (a full training run): run it by hand on the machine type the model
was trained on (same CPU kind, same thread count).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main(argv: list[str] | None = None) -> int:
    from safetensors.numpy import load_file

    from gate.cards.card import load_card
    from gate.cards.recipe import parse_recipe
    from gate.models.train import train_model
    from gate.storage import sha256_file

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--data", type=Path, default=None, help="Dataset folder (default: regenerate the world).")
    parser.add_argument("--keep", type=Path, default=None, help="Keep the retrained model folder here.")
    args = parser.parse_args(argv)

    card = load_card(args.model)
    if card.training is None:
        print(f"{args.model}: the card has no training record (ingested model); nothing to reproduce")
        return 1
    recipe = parse_recipe(card.training.recipe.content)
    if recipe.sha256() != card.training.recipe.sha256:
        print(f"{args.model}: the card's recipe content does not hash to its recorded sha256")
        return 1
    with tempfile.TemporaryDirectory(prefix="tsrgate-reproduce-") as tmp:
        data = args.data
        info = card.training.data.dataset_info
        if data is None:
            if info.get("generator") != "tsrgate.data.synth":
                print("not a generated-world model: pass --data with the training dataset")
                return 1
            from gate.data.synth.world import generate_world

            data = Path(tmp) / "world"
            print(f"regenerating world: seed {info['seed']}, {info['images']} images (world version "
                  f"{info.get('world_version')})")
            generate_world(data, images=int(info["images"]), seed=int(info["seed"]))
        digest = sha256_file(data / "annotations.json")
        if digest != card.training.data.annotations_sha256:
            print(f"dataset annotations sha256 {digest[:12]} differs from the card's "
                  f"{card.training.data.annotations_sha256[:12]}: not the training data")
            return 1
        out = args.keep or Path(tmp) / "retrained"
        started = time.monotonic()
        outcome = train_model(data, recipe, out, work_dir=Path(tmp) / "work", force=True)
        minutes = (time.monotonic() - started) / 60
        shipped = load_file(str(args.model / card.weights.file))
        retrained = load_file(str(out / outcome.card.weights.file))
        differing = [k for k in shipped if k not in retrained or not (shipped[k] == retrained[k]).all()]
        print(f"retrained {card.name} in {minutes:.1f} min: weights sha256 {outcome.card.weights.sha256[:12]} "
              f"(shipped {card.weights.sha256[:12]})")
        for old, new in zip(card.evaluation, outcome.card.evaluation, strict=False):
            print(f"  {old.split}: AP {old.ap:.4f} -> {new.ap:.4f}, AP50 {old.ap50:.4f} -> {new.ap50:.4f}")
        if differing or shipped.keys() != retrained.keys():
            print(f"NOT reproduced: {len(differing)} of {len(shipped)} tensors differ (first: {differing[:3]})")
            return 1
        print(f"reproduced bit for bit: all {len(shipped)} tensors identical")
        return 0


if __name__ == "__main__":
    sys.exit(main())
