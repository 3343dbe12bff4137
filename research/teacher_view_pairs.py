"""How well the teacher's cached vectors verify held-out pairs, per view and averaged.

The targets a student learns are the teacher's vectors of its training crops; this scores
the same vectors on the held-out people's pairs: the original view, the mirror view
(``training teacher --view mirror``) and their unit mean, each against the original with
95% intervals over people (:func:`training.evaluation.bootstrap.compare_models`). Pairs whose crops
a
view lacks are left out of every variant, so all score the same pairs.

    python -m research.teacher_view_pairs --cache data_cache/faces112 \
        --split models/resnet18-2.7.0/evaluation/heldout_split.json \
        --data celeba=data_cache/faces112/celeba_subset --out research/results/teacher_mirror.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from bench.results_file import write_result
from research.scored_pairs import add_pair_arguments, load_scored_pairs, print_against_raw
from training.evaluation.bootstrap import PairOwners, compare_models
from training.teacher.cache import ORIGINAL, VIEWS, load_teacher_embeddings, mean_of_views
from training.teacher.targets import path_keys


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, required=True, help="prepare cache with views")
    add_pair_arguments(parser)
    return parser.parse_args(argv)


def view_vectors(cache: Path, keys: list[str]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Each variant's vector of every key, and which keys every variant has."""
    variants = {view: load_teacher_embeddings(cache, view) for view in VIEWS}
    variants["mean"] = mean_of_views(variants)
    looked_up = {name: teacher.lookup(keys) for name, teacher in variants.items()}
    present = np.all([mask > 0 for _, mask in looked_up.values()], axis=0)
    return {name: vectors for name, (vectors, _) in looked_up.items()}, present


def kept_owners(owners: PairOwners, kept: np.ndarray) -> PairOwners:
    """The owners of the pairs ``kept`` marks."""
    return PairOwners(owners.first[kept], owners.second[kept], owners.labels[kept])


def run(args: argparse.Namespace, command: str) -> dict:
    """Score the held-out pairs with each view's teacher vectors."""
    pairs = load_scored_pairs(args.split, args.data, args.impostors, args.seed)
    vectors, present = view_vectors(args.cache, path_keys(pairs.paths, args.cache))
    kept = present[pairs.first] & present[pairs.second]
    owners = kept_owners(pairs.owners, kept)
    scores = {name: pairs.raw_scores(matrix)[kept] for name, matrix in vectors.items()}
    raw = scores.pop(ORIGINAL)
    return {
        "command": command,
        "cache": str(args.cache),
        "source": pairs.source,
        "people": owners.people,
        "pairs": int(kept.sum()),
        "pairs_without_vectors": int((~kept).sum()),
        "variants_against_raw": {
            name: compare_models(owners, raw, values, args.resamples, args.seed)
            for name, values in scores.items()
        },
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    result = run(args, "python -m research.teacher_view_pairs " + " ".join(argv))
    print(f"{result['pairs']} pairs of {result['people']} people (original view = raw)")
    print_against_raw(result["variants_against_raw"])
    if args.out:
        write_result(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
