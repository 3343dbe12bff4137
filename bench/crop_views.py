"""Would more views of each crop than its mirror image verify better?

Averages the served embedding of each held-out crop with those of the same crop zoomed in or
out by 10% or shifted 3 px up and down (the graph mirror-averages every view itself), and
compares each average with the plain embedding on the same pairs (95% intervals over people):

    C=data_cache/faces112
    python -m bench.crop_views --model models/default \\
        --split models/default/evaluation/heldout_split.json --data celeba=$C/celeba_subset \\
        --impostors 10333 --out bench/results/crop_views_celeba.json
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import cv2
import numpy as np

from bench.scored_pairs import (
    add_scoring_arguments,
    load_scored_pairs,
    rescoring_main,
    rescoring_result,
)
from training.images import load_image

View = Callable[[np.ndarray], np.ndarray]
SHIFT_PX = 3.0
ZOOM = 0.1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_scoring_arguments(parser)
    return parser.parse_args(argv)


def moved(scale: float, dy: float = 0.0) -> View:
    """A view of a square crop scaled about its centre and shifted down by ``dy`` pixels."""

    def view(crop: np.ndarray) -> np.ndarray:
        size = crop.shape[0]
        centre = (size - 1) / 2
        matrix = cv2.getRotationMatrix2D((centre, centre), 0.0, scale)
        matrix[1, 2] += dy
        return cv2.warpAffine(crop, matrix, (size, size), borderMode=cv2.BORDER_REFLECT)

    return view


VIEWS: dict[str, View] = {
    "zoom_in": moved(1 + ZOOM),
    "zoom_out": moved(1 - ZOOM),
    "up": moved(1.0, -SHIFT_PX),
    "down": moved(1.0, SHIFT_PX),
}
AVERAGES = {  # variant -> the views averaged with the plain crop
    "+zoom_in": ("zoom_in",),
    "+zoom_out": ("zoom_out",),
    "+both_zooms": ("zoom_in", "zoom_out"),
    "+both_shifts": ("up", "down"),
    "+all_four": tuple(VIEWS),
}


def embed_views(model, paths, batch_size: int = 64) -> dict[str, np.ndarray]:
    """The served embedding of every crop (``plain``) and of each of its views, in batches."""
    parts: dict[str, list[np.ndarray]] = {name: [] for name in ("plain", *VIEWS)}
    for start in range(0, len(paths), batch_size):
        crops = np.stack(
            [load_image(p, model.size, model.channels) for p in paths[start : start + batch_size]]
        )
        parts["plain"].append(model.embed_pixels(crops))
        for name, view in VIEWS.items():
            parts[name].append(model.embed_pixels(np.stack([view(c) for c in crops])))
    return {name: np.concatenate(rows) for name, rows in parts.items()}


def run(args: argparse.Namespace, command: str) -> dict:
    """Embed every view of every crop, then score each average against the plain crop."""
    from training.embedder import OnnxEmbedder

    pairs = load_scored_pairs(args.split, args.data, args.impostors, args.seed)
    views = embed_views(OnnxEmbedder(args.model), pairs.paths)
    raw = pairs.raw_scores(views["plain"])
    averages = {  # the served embeddings are unit vectors: their sum is their mean's direction
        name: pairs.raw_scores(views["plain"] + sum(views[v] for v in chosen))
        for name, chosen in AVERAGES.items()
    }
    return rescoring_result(command, args, pairs, raw, averages)


def main(argv: list[str] | None = None) -> int:
    return rescoring_main("bench.crop_views", parse_args, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
