"""``training compare``: two exported models on the same held-out pairs, with error bars.

Both models score the same pairs (every genuine pair of the people and one seeded impostor
sample, as ``evaluate`` builds them). The difference B - A of each figure comes with a 95%
interval from resampling the people (:mod:`training.evaluation.bootstrap`), so a screen can
say whether a change helped or whether the difference is within what another draw of people
would give.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from training.commands.pair_options import add_pair_arguments
from training.evaluation.bootstrap import PairOwners, compare_models
from training.evaluation.crop_roots import pairs_in_roots, require_crops_of
from training.evaluation.heldout import folder_pairs, score_pairs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``compare`` options."""
    parser.add_argument(
        "--models",
        nargs=2,
        required=True,
        type=Path,
        metavar=("A", "B"),
        help="two exported model directories; differences are B - A",
    )
    add_pair_arguments(parser)
    parser.add_argument(
        "--data-b",
        nargs="+",
        default=None,
        metavar="ROOT",
        help="model B's crops of the same photos, one root per --data root (e.g. a cache "
        "prepared with another --alignment); default: --data",
    )
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--out", type=Path, help="also write the result here (JSON)")


def run(args: argparse.Namespace) -> int:
    """Score both models on the same pairs and print the differences; returns the status."""
    from training.evaluation.embedder import OnnxEmbedder

    if args.resamples < 100:
        raise ValueError("--resamples must be at least 100 for a 95% interval")
    model_a, model_b = (OnnxEmbedder(path) for path in args.models)  # a bad export fails first
    data_b = args.data_b or args.data
    require_crops_of(model_a.bundle.preprocess, args.data, f"A ({args.models[0]})")
    require_crops_of(model_b.bundle.preprocess, data_b, f"B ({args.models[1]})")
    pairs, source, identity_of = folder_pairs(args.split, args.data, args.impostors, args.seed)
    owners = PairOwners.of_pairs(pairs, identity_of)
    pairs_b = pairs_in_roots(pairs, args.data, args.data_b) if args.data_b else pairs
    scores_a = score_pairs(model_a, pairs, args.batch_size)
    scores_b = score_pairs(model_b, pairs_b, args.batch_size)
    metrics = compare_models(owners, scores_a, scores_b, args.resamples, args.seed)
    result = {
        "a": str(args.models[0]),
        "b": str(args.models[1]),
        "source": source,
        "people": owners.people,
        "genuine_pairs": int(np.sum(owners.labels)),
        "impostor_pairs": int(np.sum(~owners.labels)),
        "metrics": metrics,
    }
    print_result(result)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


def print_result(result: dict) -> None:
    """One line per figure: A, B, B - A and its interval."""
    print(f"A {result['a']}\nB {result['b']}")
    print(
        f"{result['genuine_pairs']} genuine and {result['impostor_pairs']} impostor pairs of "
        f"{result['source']}"
    )
    print("95% intervals from resampling the people:")
    for name, row in result["metrics"].items():
        (a_low, a_high), (b_low, b_high), (low, high) = row["a_ci95"], row["b_ci95"], row["ci95"]
        print(
            f"{name}: A {row['a']:.4f} ({a_low:.4f} .. {a_high:.4f})  "
            f"B {row['b']:.4f} ({b_low:.4f} .. {b_high:.4f})  "
            f"B-A {row['difference']:+.4f} ({low:+.4f} .. {high:+.4f}; B better in "
            f"{row['share_b_better']:.0%} of {row['resamples']} resamples)"
        )
