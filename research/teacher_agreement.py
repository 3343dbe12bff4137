"""How closely a checkpoint follows its teacher on the people it trained on and on new people.

For each checkpoint, the hint loss (1 - cosine of the training-only ``teacher_projection`` to
the centred teacher vector; :mod:`training.model.distillation`) on a seeded sample of its run's
training images, on its validation images and on its held-out people's images, per set. If
the loss on held-out people stays far above the training people's, the student has learned
each training person's teacher vector rather than the teacher's function of a face.

    python -m research.teacher_agreement --checkpoints runs/default_v4/best.keras \
        runs/people_v1/final.keras --out research/results/teacher_agreement.json

Each checkpoint's run folder gives its split, crops and teacher cache (``config.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
from pathlib import Path

import numpy as np

from bench.results_file import write_result
from training.data.folders import ImageRecord
from training.data.images import load_image
from training.data.vectors import unit_rows
from training.teacher.cache import load_teacher_embeddings
from training.teacher.targets import packed_teacher

GROUPS = ("train", "validation", "heldout")
SHOWN = ("all", "celeba_subset", "celeba_aligned_small")  # printed; the JSON has every set


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", nargs="+", type=Path, required=True, help="RUN/*.keras")
    parser.add_argument("--train-sample", type=int, default=1000, help="training images scored")
    parser.add_argument("--seed", type=int, default=0, help="seed of the training sample")
    parser.add_argument("--out", type=Path, help="also write the result here (JSON)")
    return parser.parse_args()


def split_records(run_dir: Path) -> dict[str, list[ImageRecord]]:
    """The run's training, validation and held-out images."""
    split = json.loads((run_dir / "split.json").read_text(encoding="utf-8"))
    return {
        group: [ImageRecord(Path(r["path"]), r["identity"], r["source"]) for r in split[group]]
        for group in GROUPS
    }


def projection_model(checkpoint: Path):
    """The checkpoint cut at its training-only teacher projection."""
    import keras

    from training.model.export import load_checkpoint
    from training.model.network import TEACHER_PROJECTION

    model = load_checkpoint(checkpoint)
    return keras.Model(model.inputs, model.get_layer(TEACHER_PROJECTION).output)


def hint_losses(model, records: list[ImageRecord], targets: np.ndarray) -> np.ndarray:
    """1 - cos(projection, target) per image with a teacher vector."""
    size, channels = model.inputs[0].shape[1], model.inputs[0].shape[3]
    has_vector = targets[:, -1] > 0
    kept = [record for record, keep in zip(records, has_vector, strict=True) if keep]
    pixels = np.stack([load_image(r.path, size, channels) for r in kept]).astype(np.float32)
    projection = unit_rows(model.predict(pixels, batch_size=64, verbose=0))
    return 1.0 - np.sum(projection * targets[has_vector, :-1], axis=1)


def by_source(records: list[ImageRecord], targets: np.ndarray, losses: np.ndarray) -> dict:
    """Mean and median loss over all images and per set."""
    sources = np.array([r.source for r, t in zip(records, targets, strict=True) if t[-1] > 0])
    rows = {"all": losses} | {str(s): losses[sources == s] for s in sorted(set(sources))}
    return {
        name: {
            "images": len(values),
            "mean": round(float(values.mean()), 4),
            "median": round(float(np.median(values)), 4),
        }
        for name, values in rows.items()
        if len(values)
    }


def agreement(checkpoint: Path, sample: int, seed: int) -> dict:
    """Hint loss per group and set for one checkpoint, centred as its training was."""
    run_dir = checkpoint.parent
    config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    cache = Path(config["teacher"])
    teacher = load_teacher_embeddings(cache)
    groups = split_records(run_dir)
    _, mean = packed_teacher(groups["train"], teacher, cache)  # centred as training was
    training = groups["train"]
    groups["train"] = random.Random(seed).sample(training, min(sample, len(training)))
    model = projection_model(checkpoint)
    result = {"checkpoint": str(checkpoint), "validation_kind": config.get("validation")}
    for group, records in groups.items():
        targets, _ = packed_teacher(records, teacher, cache, mean)
        result[group] = by_source(records, targets, hint_losses(model, records, targets))
    return result


def main() -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = parse_args()
    results = [agreement(path, args.train_sample, args.seed) for path in args.checkpoints]
    for result in results:
        print(result["checkpoint"], f"(validation: {result['validation_kind']})")
        for group in GROUPS:
            shown = {name: result[group][name] for name in SHOWN if name in result[group]}
            print(f"  {group}:", ", ".join(f"{k} {v['mean']:.3f}" for k, v in shown.items()))
    if args.out:
        write_result(args.out, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
