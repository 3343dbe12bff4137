"""Cohort score normalisation of an export's held-out pairs, against its raw cosines.

Some faces are close to everyone (a common pose, light or face shape): their impostor
cosines run high, and a single threshold treats them like every other face. Cohort
normalisation subtracts, from a pair's cosine, each side's mean cosine to its ``K`` nearest
faces of a cohort of other people, ``s - (mu_a + mu_b) / 2``; adaptive symmetric
normalisation (AS-norm) also divides each side's difference by its spread,
``((s - mu_a) / sd_a + (s - mu_b) / sd_b) / 2`` (Matejka et al., "Analysis of Score
Normalization in Multilingual Speaker Recognition", Interspeech 2017). The cohort is one
photo each of people the model trained on (never a held-out person).

    python -m bench.score_normalisation --model models/default \
        --split models/default/evaluation/heldout_split.json \
        --data celeba=data_cache/faces112/celeba_subset --out bench/results/score_normalisation.json

Each variant is compared with the raw cosines on the same pairs, with a 95% interval from
resampling the people (:mod:`training.bootstrap`).
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np

from bench.scored_pairs import add_scoring_arguments, load_scored_pairs, rescoring_main
from training.bootstrap import compare_models
from training.crop_roots import require_crops_of
from training.folders import scan_identity_folders
from training.metrics import cosine_similarities


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_scoring_arguments(parser)
    parser.add_argument(
        "--cohort-data", nargs="+", help="roots of the cohort's people (default: --data)"
    )
    parser.add_argument("--cohort-size", type=int, default=3000, help="cohort people")
    parser.add_argument("--top-k", type=int, nargs="+", default=[50, 200], help="K to try")
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
    from training.embedder import OnnxEmbedder

    pairs = load_scored_pairs(args.split, args.data, args.impostors, args.seed)
    cohort_files = cohort_paths(
        args.cohort_data or args.data, pairs.excluded_people, args.cohort_size, args.seed
    )
    if not cohort_files:
        raise SystemExit("no cohort: every person under the cohort roots is evaluated or held out")
    model = OnnxEmbedder(args.model)
    require_crops_of(model.bundle.preprocess, args.data + (args.cohort_data or []), "the model")
    embeddings, cohort = model.embed_files(pairs.paths), model.embed_files(cohort_files)
    variants: dict[str, dict] = {}
    for top_k in args.top_k:
        scores = normalised_scores(embeddings, cohort, pairs.first, pairs.second, top_k)
        raw = scores.pop("raw")
        for name, normalised in scores.items():
            variants[name] = compare_models(
                pairs.owners, raw, normalised, args.resamples, args.seed
            )
    return {
        "command": command,
        "model": str(args.model),
        "source": pairs.source,
        "people": pairs.owners.people,
        "cohort_people": len(cohort_files),
        "variants_against_raw": variants,
    }


def main(argv: list[str] | None = None) -> int:
    return rescoring_main("bench.score_normalisation", parse_args, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
