"""The held-out pair options ``evaluate``, ``compare`` and the research tools share (no command)."""

from __future__ import annotations

import argparse
from pathlib import Path

from training.evaluation.heldout import MIN_IMPOSTORS


def add_pair_arguments(parser: argparse.ArgumentParser, data_flag: str = "--data") -> None:
    """Register the options of :func:`training.evaluation.heldout.folder_pairs` and of scoring.

    ``data_flag`` names the crop roots' option (``quantize`` takes raw photos as ``--data``).
    """
    parser.add_argument(
        data_flag,
        nargs="+",
        action="extend",
        default=[],
        metavar="ROOT",
        help="identity folders as PATH or NAMESPACE=PATH",
    )
    parser.add_argument("--split", type=Path, help="split.json of a run: held-out people only")
    parser.add_argument(
        "--impostors",
        type=int,
        default=None,
        help=f"impostor pairs to sample (default: as many as genuine pairs, "
        f"at least {MIN_IMPOSTORS})",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the impostor sample, folds and resamples"
    )
    parser.add_argument("--batch-size", type=int, default=64, help="images per ONNX call")
