"""``python -m training morph``: new faces for the teacher to label, made by morphing two people.

A distilled student learns the teacher's function only at the inputs it is shown, and ours
has few distinct people: continued training fits the training people's teacher vectors
and gets worse on new people. A morph (a pixel blend of two aligned faces of different
people) is a face the student has never seen, and the teacher, run on the *same* morph,
says where it belongs: mixup (Zhang et al. 2018, "mixup: Beyond Empirical Risk
Minimization") used as function matching (Beyer et al. 2022, "Knowledge distillation: A
good teacher is patient and consistent").

Both sides see the same blend with the same weight, each in its own alignment: the teacher
a blend of dlib's 150x150 chips of the two original photos, the student a blend of the two
112x112 crops. Morphs are drawn only from a run's *training* images (its ``split.json``),
written as an unlabelled folder inside the cache, ``CACHE/morphs/NAME/``, with their
teacher vectors added to the cache's teacher parts, so ``train --unlabelled`` takes them.
``morphs.json`` there records the sources, which ``train`` checks against its own split.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from training.teacher.morphs import MorphPlan, make_morphs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``morph`` options."""
    parser.add_argument("--cache", required=True, type=Path, help="a prepare + teacher cache")
    parser.add_argument(
        "--split", required=True, type=Path, help="split.json of the run the morphs are for"
    )
    parser.add_argument("--name", required=True, help="folder name under CACHE/morphs/")
    parser.add_argument("--count", type=int, default=30000, help="morphs to make")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--weight-low", type=float, default=0.3, help="blend weights drawn from [low, 1 - low]"
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)


def run(args: argparse.Namespace) -> int:
    """Make the morphs not made yet, with their teacher vectors."""
    started = time.perf_counter()
    settings = MorphPlan(str(args.split.resolve()), args.count, args.seed, args.weight_low, [])
    folder, made, total = make_morphs(args.cache, args.name, settings, args.workers)
    print(
        f"morph: {made} made now, {total} of {args.count} in {folder} "
        f"({time.perf_counter() - started:.0f} s)"
    )
    return 0
