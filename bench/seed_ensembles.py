"""Do independently trained runs err on different pairs? Score their ensemble to find out.

A run's error on new people has two parts: what every run of the recipe gets wrong (the data,
the loss) and what this run's seed got wrong (initial weights, batch order, augmentations).
Averaging the unit embeddings of several runs cancels the second part only, so an ensemble
far better than its members says "train more runs"; one no better says the recipe itself is
the limit. Each variant is compared with ``--model`` on the same pairs (95% intervals over
people); every model must have been trained without the held-out people of ``--split``:

    C=data_cache/faces112
    python -m bench.seed_ensembles --model runs/neighbours_0_seed0/export \\
        --others runs/neighbours_0_seed1/export runs/neighbours_4_seed0/export \\
        runs/neighbours_4_seed1/export --split models/default/evaluation/heldout_split.json \\
        --data celeba=$C/celeba_subset --impostors 10333 \\
        --out bench/results/seed_ensembles_celeba.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bench.scored_pairs import (
    add_scoring_arguments,
    load_scored_pairs,
    rescoring_main,
    rescoring_result,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_scoring_arguments(parser)
    parser.add_argument(
        "--others", nargs="+", type=Path, required=True, help="exports to ensemble with --model"
    )
    return parser.parse_args(argv)


def variant_embeddings(embeddings: dict[str, np.ndarray], reference: str) -> dict[str, np.ndarray]:
    """Each other model alone, the reference with each, and all of them (sums of unit rows)."""
    others = [name for name in embeddings if name != reference]
    variants = {f"{name} alone": embeddings[name] for name in others}
    for name in others:
        variants[f"+{name}"] = embeddings[reference] + embeddings[name]
    if len(others) > 1:
        variants["all"] = sum(embeddings.values())
    return variants


def run(args: argparse.Namespace, command: str) -> dict:
    """Embed the pairs' images with every model; compare each variant with ``--model``."""
    from training.embedder import OnnxEmbedder

    pairs = load_scored_pairs(args.split, args.data, args.impostors, args.seed)
    names = [str(path) for path in (args.model, *args.others)]
    embeddings = {name: OnnxEmbedder(Path(name)).embed_files(pairs.paths) for name in names}
    raw = pairs.raw_scores(embeddings[names[0]])
    ensembles = {
        name: pairs.raw_scores(summed)
        for name, summed in variant_embeddings(embeddings, names[0]).items()
    }
    return rescoring_result(command, args, pairs, raw, ensembles, others=names[1:])


def main(argv: list[str] | None = None) -> int:
    return rescoring_main("bench.seed_ensembles", parse_args, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
