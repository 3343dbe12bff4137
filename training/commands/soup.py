"""``training soup``: one checkpoint from several runs of one recipe, their weights averaged.

A uniform model soup (Wortsman et al., "Model soups: averaging weights of multiple fine-tuned
models improves accuracy without increasing inference time", ICML 2022): runs continued from
the same starting weights with other seeds stay in one basin, so the mean of their weights is
a model of the same size and cost. Only runs that started from the same weights and share
their data, held-out split, classes and layers are mixed; anything else is refused, since a
mean of unrelated networks is not a network. The result is a run folder that ``export`` and
``train --init-from`` read like any other (``final.keras``, ``config.json``, ``summary.json``,
``labels.json``, ``split.json``), with ``soup_of`` naming its runs.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from training.run.soup import make_soup


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``soup`` options."""
    parser.add_argument("--runs", nargs="+", required=True, type=Path, help="run folders")
    parser.add_argument("--out", required=True, type=Path, help="the soup's run folder")
    parser.add_argument(
        "--checkpoint", default="final.keras", help="checkpoint of each run (default: %(default)s)"
    )


def run(args: argparse.Namespace) -> int:
    """Average the runs' checkpoints into ``--out``; returns the exit status."""
    command = shlex.join([sys.executable, "-m", "training", *sys.argv[1:]])
    made = make_soup(args.runs, args.checkpoint, args.out, command)
    print(f"averaged {len(args.runs)} checkpoints into {made}")
    return 0
