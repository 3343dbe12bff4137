"""The held-out pairs that post-hoc scoring experiments rescore, indexed by image."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.results_file import write_result
from training.commands import pair_options
from training.data.pairs import pair_rows
from training.evaluation.bootstrap import PairOwners, compare_models
from training.evaluation.heldout import folder_pairs
from training.evaluation.verification import cosine_similarities


@dataclass(frozen=True)
class ScoredPairs:
    """Every genuine pair and a seeded impostor sample, as rows of one image list."""

    paths: list[Path]  # the images, each embedded once
    first: np.ndarray  # row of each pair's first image in ``paths``
    second: np.ndarray
    owners: PairOwners
    source: str
    excluded_people: frozenset[str]  # evaluated or held out: never in a cohort or a fit

    def raw_scores(self, embeddings: np.ndarray) -> np.ndarray:
        """The cosine of each pair, from the embeddings of ``paths`` (rows in that order)."""
        return cosine_similarities(embeddings[self.first], embeddings[self.second])


def load_scored_pairs(
    split: Path | None, data: list[str], impostors: int | None, seed: int
) -> ScoredPairs:
    """The pairs of the people under ``data`` (held out by ``split`` where given)."""
    pairs, source, identity_of = folder_pairs(split, data, impostors, seed)
    excluded = set(identity_of.values())
    if split is not None:
        excluded |= set(json.loads(split.read_text(encoding="utf-8"))["heldout_identities"])
    paths, first, second = pair_rows(pairs)
    return ScoredPairs(
        paths=paths,
        first=first,
        second=second,
        owners=PairOwners.of_pairs(pairs, identity_of),
        source=source,
        excluded_people=frozenset(excluded),
    )


def add_scoring_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every rescoring experiment shares: model, pairs, resampling, output."""
    parser.add_argument("--model", type=Path, required=True, help="exported model directory")
    add_pair_arguments(parser)


def add_pair_arguments(parser: argparse.ArgumentParser) -> None:
    """The held-out pair options of ``training evaluate``, their resampling and the output file."""
    pair_options.add_pair_arguments(parser)
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--out", type=Path, help="also write the result here (JSON)")


def rescoring_result(
    command: str,
    args: argparse.Namespace,
    pairs: ScoredPairs,
    raw: np.ndarray,
    variant_scores: dict[str, np.ndarray],
    **details,
) -> dict:
    """What a rescoring experiment reports: each variant's scores of ``pairs`` against ``raw``
    (95% intervals over people, :func:`training.evaluation.bootstrap.compare_models`), with
    ``details``.
    """
    variants = {
        name: compare_models(pairs.owners, raw, scores, args.resamples, args.seed)
        for name, scores in variant_scores.items()
    }
    return {
        "command": command,
        "model": str(args.model),
        "source": pairs.source,
        "people": pairs.owners.people,
        **details,
        "variants_against_raw": variants,
    }


def rescoring_main(
    module: str,
    parse: Callable[[list[str]], argparse.Namespace],
    run: Callable[[argparse.Namespace, str], dict],
    argv: list[str] | None,
) -> int:
    """Parse, run, print each variant against raw and write the result where asked."""
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    result = run(args, f"python -m {module} " + " ".join(argv))
    print_against_raw(result["variants_against_raw"])
    if args.out:
        write_result(args.out, result)
    return 0


def print_against_raw(variants: dict[str, dict]) -> None:
    """One line per variant: its EER against the raw cosines', with the 95% interval."""
    for name, metrics in variants.items():
        eer = metrics["eer"]
        low, high = eer["ci95"]
        print(
            f"{name}: EER {eer['a']:.4f} -> {eer['b']:.4f} ({eer['difference']:+.4f}, "
            f"95% {low:+.4f} .. {high:+.4f})"
        )
