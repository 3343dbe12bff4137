"""How far does the teacher's own vector move when its input is altered as training alters ours?

Training pairs each augmented student crop with one fixed teacher vector per image, computed
once on the unaltered photo. Beyer et al. ("Knowledge distillation: A good teacher is patient
and consistent", CVPR 2022) find such a *fixed teacher* the weakest setting and the student
best when the teacher sees the very view the student sees. This measures how inconsistent the
fixed targets are: for photos of a prepare cache it cuts the teacher's own chip, alters it with
each client degradation of ``training.data.augment`` alone and with the whole random training
chain, and reports the cosine of the teacher's vector of each altered chip to its vector of
the original (mean, 5th percentile). For scale, the same photos' genuine and impostor cosines.
Each figure twice: on the teacher's unit vectors, and centred as the training targets are
(minus the mean of the cache's teacher vectors, back to unit length).

    python -m research.teacher_views --cache data_cache/faces112 --images 400 \
        --out research/results/teacher_views.json
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np

from bench.results_file import write_result

SOURCES = ("celeba_subset",)  # in-the-wild photos, several per person


def alterations(seed: int) -> dict:
    """Name -> function of one float chip (H, W, 3, 0..255): each alteration of training."""
    import tensorflow as tf

    from training.data import augment

    augmenter = augment.build_augmenter(seed)
    tf.random.set_seed(seed)

    def only(**probabilities):
        chain = dict(grey=0.0, jpeg=0.0, rescale=0.0, rotate_degrees=0.0, colour=0.0)
        return lambda chip: augment.degrade_like_clients(chip, **{**chain, **probabilities})

    def training_chain(chip):
        degraded = augment.degrade_like_clients(chip)
        return augmenter(degraded[None], training=True)[0]

    return {
        "grey": only(grey=1.0),
        "jpeg_30_to_95": only(jpeg=1.0),
        "half_or_quarter_resolution": only(rescale=1.0),
        "rotation_up_to_10_degrees": only(rotate_degrees=10.0),
        "saturation_hue": only(colour=1.0),
        "mirror": lambda chip: chip[:, ::-1],
        "training_chain": training_chain,
    }


def sample_entries(cache: Path, images: int, seed: int) -> list[dict]:
    """Up to ``images`` logged in-the-wild photos of the cache, a seeded sample."""
    from training.crops.cache import LOG_NAME, read_log

    entries = [
        entry
        for entry in read_log(cache / LOG_NAME).values()
        if entry["status"] == "ok" and entry["source"] in SOURCES
    ]
    return random.Random(seed).sample(entries, min(images, len(entries)))


def teacher_vectors(entries: list[dict], seed: int) -> tuple[np.ndarray, dict, float]:
    """The teacher's vectors of the original chips, of each alteration's, and s per chip."""
    from training.teacher import dlib_backend as teacher

    teacher.load_teacher()
    altered = alterations(seed)
    views = {name: [] for name in altered}
    originals, seconds = [], 0.0
    for entry in entries:
        chip = teacher.face_chip(Path(entry["path"]), entry.get("box"))
        started = time.perf_counter()
        originals.append(teacher.embed_chip(chip))
        seconds += time.perf_counter() - started
        for name, alter in altered.items():
            view = np.clip(np.rint(np.asarray(alter(chip.astype(np.float32)))), 0, 255)
            views[name].append(teacher.embed_chip(view.astype(np.uint8)))
    stacked = {name: np.stack(vectors) for name, vectors in views.items()}
    return np.stack(originals), stacked, seconds / max(len(entries), 1)


def unit(vectors: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Rows minus ``mean``, back to unit length (as training centres the teacher's vectors)."""
    from training.teacher.targets import centred

    return centred(vectors, np.ones(len(vectors), np.float32), mean)[0]


def summary(values) -> dict | None:
    """Mean and 5th percentile of some cosines (None for none)."""
    values = np.asarray(values, np.float64)
    if values.size == 0:
        return None
    return {"mean": float(values.mean()), "p5": float(np.percentile(values, 5)), "n": len(values)}


def cosines(entries: list[dict], originals: np.ndarray, views: dict, mean: np.ndarray) -> dict:
    """Altered-to-original and between-photo cosines, every vector moved by ``mean`` first."""
    base = unit(originals, mean)
    people = np.array([str(Path(entry["crop"]).parent) for entry in entries])
    scores = base @ base.T
    upper = np.triu(np.ones_like(scores, dtype=bool), k=1)
    same = people[:, None] == people[None, :]
    return {
        "altered_to_original": {
            name: summary(np.sum(unit(vectors, mean) * base, axis=1))
            for name, vectors in views.items()
        },
        "between_photos": {
            "genuine": summary(scores[upper & same]),
            "impostor": summary(scores[upper & ~same]),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", required=True, type=Path, help="a `training prepare` cache")
    parser.add_argument("--images", type=int, default=400, help="photos to sample")
    parser.add_argument("--seed", type=int, default=0, help="sample and augmentation seed")
    parser.add_argument("--out", type=Path, default=None, help="write the result as JSON")
    args = parser.parse_args(argv)

    entries = sample_entries(args.cache, args.images, args.seed)
    if not entries:
        raise SystemExit(f"teacher_views: no {'/'.join(SOURCES)} photos logged in {args.cache}")
    from training.teacher.cache import load_teacher_embeddings

    originals, views, seconds = teacher_vectors(entries, args.seed)
    centre = load_teacher_embeddings(args.cache).vectors.mean(axis=0)
    result = {
        "cache": str(args.cache),
        "photos": len(entries),
        "seed": args.seed,
        "teacher_seconds_per_chip": seconds,
        "raw": cosines(entries, originals, views, np.zeros_like(centre)),
        "centred": cosines(entries, originals, views, centre),
    }
    print(json.dumps(result, indent=2))
    if args.out:
        write_result(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
