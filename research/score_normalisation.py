"""Cohort score normalisation of an export's held-out pairs, against its raw cosines.

Some faces are close to everyone (a common pose, light or face shape): their impostor
cosines run high, and a single threshold treats them like every other face. Cohort
normalisation subtracts, from a pair's cosine, each side's mean cosine to its ``K`` nearest
faces of a cohort of other people, ``s - (mu_a + mu_b) / 2``; adaptive symmetric
normalisation (AS-norm) also divides each side's difference by its spread,
``((s - mu_a) / sd_a + (s - mu_b) / sd_b) / 2`` (Matejka et al., "Analysis of Score
Normalization in Multilingual Speaker Recognition", Interspeech 2017). The cohort is one
photo each of people the model trained on (never a held-out person), or, with ``--centroids N``,
N k-means centroids of the embeddings of every photo of those people, keeping only those whose
cluster holds ``--min-people`` people or more: each kept centroid is the mean of photos of
several people, a face of nobody, so such a cohort could ship with a model without shipping
any person's template (the report gives the fewest images and people behind a kept centroid).

    python -m research.score_normalisation --model models/resnet18-2.7.0 \
        --split models/resnet18-2.7.0/evaluation/heldout_split.json \
        --data celeba=data_cache/faces112/celeba_subset \
        --out research/results/score_normalisation.json

Each variant is compared with the raw cosines on the same pairs, with a 95% interval from
resampling the people (:mod:`training.evaluation.bootstrap`).
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans

from research.scored_pairs import (
    add_scoring_arguments,
    load_scored_pairs,
    rescoring_main,
    rescoring_result,
)
from training.data.folders import scan_identity_folders
from training.data.vectors import unit_rows
from training.evaluation.crop_roots import require_crops_of
from training.evaluation.verification import cosine_similarities

NO_COHORT = "no cohort: every person under the cohort roots is evaluated or held out"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_scoring_arguments(parser)
    parser.add_argument(
        "--cohort-data", nargs="+", help="roots of the cohort's people (default: --data)"
    )
    parser.add_argument("--cohort-size", type=int, default=3000, help="cohort people")
    parser.add_argument("--top-k", type=int, nargs="+", default=[50, 200], help="K to try")
    parser.add_argument(
        "--centroids", type=int, help="cohort of N k-means centroids of every cohort photo"
    )
    parser.add_argument(
        "--min-people",
        type=int,
        default=5,
        help="with --centroids: keep only centroids of clusters of this many people or more",
    )
    return parser.parse_args(argv)


def cohort_paths(roots: list[str], excluded: set[str], size: int, seed: int) -> list[Path]:
    """One seeded photo each of up to ``size`` people under ``roots``, none in ``excluded``."""
    photos: dict[str, list[Path]] = {}
    for record in scan_identity_folders(roots):
        if record.identity not in excluded:
            photos.setdefault(record.identity, []).append(record.path)
    rng = random.Random(seed)
    people = sorted(photos)
    rng.shuffle(people)
    return [rng.choice(photos[person]) for person in people[:size]]


def centroid_cohort(
    embeddings: np.ndarray, owners: list[str], count: int, min_people: int, seed: int
) -> tuple[np.ndarray, dict]:
    """The unit k-means centroids (of ``count``) whose cluster holds ``min_people`` or more.

    A cluster of one person's photos would make its centroid that person's template, so such
    centroids are dropped.

    Returns:
        ``(centroids (kept, D), {"centroids", "kept", "fewest_images", "fewest_people"})``,
        the fewest counted over the kept centroids.

    Raises:
        SystemExit: ``count`` is out of range, or no cluster holds ``min_people`` people.
    """
    if count < 1 or count > len(embeddings):
        raise SystemExit(f"--centroids must be 1 .. {len(embeddings)} (the cohort photos)")
    clusters = KMeans(count, n_init=1, random_state=seed).fit(embeddings)
    members = [np.flatnonzero(clusters.labels_ == label) for label in range(count)]
    people = np.array([len({owners[row] for row in rows}) for rows in members])
    kept = np.flatnonzero(people >= min_people)
    if not len(kept):
        raise SystemExit(f"no cluster holds {min_people} people: lower --min-people")
    return unit_rows(clusters.cluster_centers_[kept]), {
        "centroids": count,
        "kept": len(kept),
        "fewest_images": min(len(members[label]) for label in kept),
        "fewest_people": int(people[kept].min()),
    }


def cohort_of(args: argparse.Namespace, model, excluded: frozenset[str]) -> tuple[np.ndarray, dict]:
    """The cohort's embeddings: one photo each of ``--cohort-size`` people, or centroids."""
    roots = args.cohort_data or args.data
    if args.centroids is None:
        files = cohort_paths(roots, excluded, args.cohort_size, args.seed)
        if not files:
            raise SystemExit(NO_COHORT)
        return model.embed_files(files), {"cohort_people": len(files)}
    records = [r for r in scan_identity_folders(roots) if r.identity not in excluded]
    if not records:
        raise SystemExit(NO_COHORT)
    embeddings = model.embed_files([record.path for record in records])
    owners = [record.identity for record in records]
    return centroid_cohort(embeddings, owners, args.centroids, args.min_people, args.seed)


def normalised_scores(
    embeddings: np.ndarray, cohort: np.ndarray, first: np.ndarray, second: np.ndarray, top_k: int
) -> dict[str, np.ndarray]:
    """The raw cosines of the pairs ``(first[i], second[i])`` and their two normalisations."""
    nearest = -np.sort(-(embeddings @ cohort.T), axis=1)[:, :top_k]
    mean, spread = nearest.mean(axis=1), np.maximum(nearest.std(axis=1), 1e-6)
    raw = cosine_similarities(embeddings[first], embeddings[second])
    return {
        "raw": raw,
        f"top{top_k}_mean": raw - (mean[first] + mean[second]) / 2,
        f"as_norm{top_k}": (
            (raw - mean[first]) / spread[first] + (raw - mean[second]) / spread[second]
        )
        / 2,
    }


def run(args: argparse.Namespace, command: str) -> dict:
    """Score the pairs raw and normalised; return each variant's comparison with raw."""
    from training.evaluation.embedder import OnnxEmbedder

    pairs = load_scored_pairs(args.split, args.data, args.impostors, args.seed)
    model = OnnxEmbedder(args.model)
    require_crops_of(model.bundle.preprocess, args.data + (args.cohort_data or []), "the model")
    cohort, cohort_report = cohort_of(args, model, pairs.excluded_people)
    embeddings = model.embed_files(pairs.paths)
    normalised: dict[str, np.ndarray] = {}
    for top_k in args.top_k:
        scores = normalised_scores(embeddings, cohort, pairs.first, pairs.second, top_k)
        raw = scores.pop("raw")
        normalised.update(scores)
    return rescoring_result(command, args, pairs, raw, normalised, **cohort_report)


def main(argv: list[str] | None = None) -> int:
    return rescoring_main("research.score_normalisation", parse_args, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
