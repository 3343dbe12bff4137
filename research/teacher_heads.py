"""Would a head fitted afterwards to the teacher's space, on frozen features, verify better?

Taps an export's graph before and after its global average pool (the 2x2x512 stage-4 map and
the 512-d ``feature``), fits a ridge regression from each to the teacher's centred vectors on
the faces under ``--fit-data`` and ``--unlabelled`` (never an evaluated or held-out person;
the ridge strength is chosen on a tenth of those people, held apart), and scores on the pairs
the head alone and the served embedding joined with it (unit vectors side by side, each view
of the mirror pair joined before the average, as the export joins layers), against the served
embedding (95% intervals over people). A linear head costs nothing to serve; the stage-4 map
keeps the spatial layout the pool discards.

    C=data_cache/faces112
    python -m research.teacher_heads --model models/resnet18-2.7.0 \\
        --split models/resnet18-2.7.0/evaluation/heldout_split.json \\
        --data celeba=$C/celeba_subset celeba=$C/celeba_aligned_small $C/frll $C/taiwan_frontal \\
        --teacher-cache $C --fit-data celeba=$C/celeba_subset celeba=$C/celeba_aligned_small \\
        $C/frll $C/taiwan_frontal $C/extended_yaleb $C/orl $C/yale --unlabelled $C/utkface \\
        --out research/results/teacher_heads_wild.json
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from research.scored_pairs import (
    add_scoring_arguments,
    load_scored_pairs,
    rescoring_main,
    rescoring_result,
)
from training.data.folders import ImageRecord, scan_identity_folders, scan_unlabelled_folders
from training.data.vectors import unit_rows
from training.teacher.cache import load_teacher_embeddings
from training.teacher.targets import centred, crop_keys

RIDGE_STRENGTHS = (
    1e-6,
    1e-5,
    1e-4,
    1e-3,
    1e-2,
)  # times the mean variance of the standardised input
VALIDATION_SHARE = 0.1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_scoring_arguments(parser)
    parser.add_argument("--teacher-cache", type=Path, required=True, help="`training teacher`")
    parser.add_argument("--fit-data", nargs="+", required=True, help="labelled roots to fit on")
    parser.add_argument("--unlabelled", nargs="*", default=[], help="unlabelled roots to fit on")
    parser.add_argument(
        "--tap",
        nargs="*",
        default=[],
        metavar="NAME=TENSOR",
        type=tap_spec,
        help="more graph tensors to fit heads on (an earlier stage's output, say)",
    )
    return parser.parse_args(argv)


def tap_spec(text: str) -> tuple[str, str]:
    """``NAME=TENSOR`` -> ``(NAME, TENSOR)``."""
    name, separator, tensor = text.partition("=")
    if not (name and separator and tensor):
        raise argparse.ArgumentTypeError(f"expected NAME=TENSOR, got {text!r}")
    return name, tensor


def unit(vectors: np.ndarray) -> np.ndarray:
    """Unit length along the last axis, any leading shape."""
    return unit_rows(vectors.reshape(-1, vectors.shape[-1])).reshape(vectors.shape)


def served_join(parts: Sequence[np.ndarray]) -> np.ndarray:
    """Unit parts (N, views, d_i) side by side, the views averaged: (N, sum d_i), unit."""
    joined = unit(np.concatenate([unit(part) for part in parts], axis=-1))
    return unit_rows(joined.mean(axis=1))


def ridge_fits(
    inputs: np.ndarray, targets: np.ndarray, strengths: Sequence[float]
) -> dict[float, np.ndarray]:
    """Weights of ``targets ~ inputs @ W`` for each strength (``strength * tr(X'X)/d`` added
    to the diagonal), from one Gram matrix."""
    inputs, targets = inputs.astype(np.float64), targets.astype(np.float64)
    gram, cross = inputs.T @ inputs, inputs.T @ targets
    scale = np.trace(gram) / len(gram)
    return {
        strength: np.linalg.solve(gram + strength * scale * np.eye(len(gram)), cross)
        for strength in strengths
    }


def fit_head(features: np.ndarray, targets: np.ndarray, validation: np.ndarray):
    """The best ridge head by mean cosine on the ``validation`` rows, refitted on all rows.

    Args:
        features: (N, views, d) taps of the fit images (every view is a sample).
        targets: (N, t) unit teacher vectors.
        validation: (N,) True for the rows held apart to choose the strength.

    Returns:
        ``(head: features -> (..., t), {"strength", "validation_cosine"})``.
    """
    flat = features.reshape(-1, features.shape[-1])
    mean, scale = flat.mean(axis=0), flat.std(axis=0) + 1e-3
    standardised = (features - mean) / scale
    samples = standardised.reshape(len(flat), -1)
    repeated = np.repeat(targets, features.shape[1], axis=0)
    held = np.repeat(validation, features.shape[1])
    fits = ridge_fits(samples[~held], repeated[~held], RIDGE_STRENGTHS)
    scored = {
        strength: mean_cosine(
            served_join([standardised[validation] @ weights]), targets[validation]
        )
        for strength, weights in fits.items()
    }
    best = max(scored, key=scored.get)
    weights = ridge_fits(samples, repeated, [best])[best]
    return (lambda taps: ((taps - mean) / scale) @ weights), {
        "strength": best,
        "validation_cosine": scored[best],
    }


def mean_cosine(predicted: np.ndarray, targets: np.ndarray) -> float:
    """Mean row-wise cosine of unit predictions with unit targets."""
    return float(np.mean(np.sum(predicted * targets, axis=1)))


def people_apart(records: Sequence[ImageRecord], seed: int) -> np.ndarray:
    """True for the images of a seeded tenth of the people (each unlabelled face its own)."""
    owners = np.array([r.identity or f"unlabelled/{i}" for i, r in enumerate(records)])
    people = np.unique(owners)
    count = max(1, int(len(people) * VALIDATION_SHARE))
    chosen = np.random.default_rng(seed).choice(people, count, replace=False)
    return np.isin(owners, chosen)


class PoolTaps:
    """An export's graph with its global average pool's input and output as extra outputs."""

    def __init__(self, model_dir: Path, extra: dict[str, str] | None = None) -> None:
        """Open ``model_dir`` (``model.onnx`` + ``metadata.json``) with the taps added.

        Args:
            model_dir: The export.
            extra: More taps, name -> tensor name in the graph.

        Raises:
            ValueError: The graph has no single GlobalAveragePool.
        """
        import onnx
        import onnxruntime as ort

        from facecore.model_bundle import ModelBundle

        self.bundle = ModelBundle.load(model_dir)
        graph = onnx.load(self.bundle.directory / "model.onnx")
        pools = [node for node in graph.graph.node if node.op_type == "GlobalAveragePool"]
        if len(pools) != 1:
            raise ValueError(f"{model_dir}: {len(pools)} GlobalAveragePool nodes, expected 1")
        self.taps = {"map": pools[0].input[0], "pooled": pools[0].output[0], **(extra or {})}
        for name in self.taps.values():
            graph.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
        self.session = ort.InferenceSession(
            graph.SerializeToString(), providers=["CPUExecutionProvider"]
        )
        self.views = 2 if self.bundle.metadata.embedding.mirror_averaged else 1

    def run(self, paths: Sequence[Path], batch_size: int = 64) -> dict[str, np.ndarray]:
        """``embedding`` (N, D) as served, ``map`` and ``pooled`` as (N, views, d)."""
        from training.data.images import load_image

        size, channels = self.bundle.size, self.bundle.channels
        names = [self.session.get_outputs()[0].name, *self.taps.values()]
        batches: dict[str, list] = {"embedding": [], **{name: [] for name in self.taps}}
        for start in range(0, len(paths), batch_size):
            chunk = paths[start : start + batch_size]
            pixels = np.stack([load_image(p, size, channels) for p in chunk]).astype(np.float32)
            served, *taps = self.session.run(names, {self.session.get_inputs()[0].name: pixels})
            batches["embedding"].append(served)
            for key, tap in zip(self.taps, taps, strict=True):
                views = tap.reshape(self.views, len(chunk), -1)  # the mirror images come second
                batches[key].append(views.transpose(1, 0, 2))
        return {key: np.concatenate(parts) for key, parts in batches.items()}


def fit_set(args: argparse.Namespace, excluded: frozenset[str]):
    """The fit images (no evaluated or held-out person) with a teacher vector, and the vectors.

    Returns:
        ``(records, unit centred teacher vectors (N, t))``.
    """
    records = [r for r in scan_identity_folders(args.fit_data) if r.identity not in excluded]
    records += scan_unlabelled_folders(args.unlabelled) if args.unlabelled else []
    teacher = load_teacher_embeddings(args.teacher_cache)
    vectors, has_vector = teacher.lookup(crop_keys(records, args.teacher_cache))
    kept = has_vector > 0
    if kept.sum() < 2:
        raise SystemExit("fewer than 2 fit images with a teacher vector")
    targets, _ = centred(vectors, has_vector)  # as training centres them
    return [r for r, keep in zip(records, kept, strict=True) if keep], targets[kept]


def run(args: argparse.Namespace, command: str) -> dict:
    """Fit a head on each tap and compare the served embedding with and without it."""
    pairs = load_scored_pairs(args.split, args.data, args.impostors, args.seed)
    records, targets = fit_set(args, pairs.excluded_people)
    model = PoolTaps(args.model, dict(args.tap))
    fit_taps = model.run([r.path for r in records])
    pair_taps = model.run(pairs.paths)
    served = np.repeat(pair_taps["embedding"][:, None, :], model.views, axis=1)
    validation = people_apart(records, args.seed)
    raw = pairs.raw_scores(pair_taps["embedding"])
    variants, heads = {}, {}
    for tap in model.taps:
        head, heads[tap] = fit_head(fit_taps[tap], targets, validation)
        predicted = head(pair_taps[tap])
        variants[f"{tap}_head"] = pairs.raw_scores(served_join([predicted]))
        variants[f"served+{tap}_head"] = pairs.raw_scores(served_join([served, predicted]))
    return rescoring_result(
        command,
        args,
        pairs,
        raw,
        variants,
        fit_images=len(records),
        validation_images=int(validation.sum()),
        heads=heads,
    )


def main(argv: list[str] | None = None) -> int:
    return rescoring_main("research.teacher_heads", parse_args, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
