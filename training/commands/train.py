"""``python -m training train``: train the AM-Softmax ResNet18 on identity folders.

Re-running the same command with the same ``--out`` resumes an interrupted run
(and a larger ``--epochs`` continues a finished one).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from training.config import (
    DISTILL_KINDS,
    PRECISIONS,
    SCHEDULES,
    SPLIT_KINDS,
    VALIDATION_KINDS,
    TrainConfig,
)
from training.presets import PRESETS, get_preset
from training.run.inputs import RunInputs
from training.teacher.cache import ORIGINAL, VIEWS

OVERRIDES = {  # flag -> (TrainConfig field, type, extra argparse kwargs)
    "--epochs": ("epochs", int, {}),
    "--batch-size": ("batch_size", int, {}),
    "--steps-per-epoch": ("steps_per_epoch", int, {}),
    "--learning-rate": ("learning_rate", float, {}),
    "--schedule": ("schedule", str, {"choices": SCHEDULES}),
    "--warmup-epochs": ("warmup_epochs", float, {}),
    "--weight-decay": ("weight_decay", float, {}),
    "--input-size": ("input_size", int, {}),
    "--channels": ("channels", int, {"choices": (1, 3)}),
    "--stage1-stride": ("stage1_stride", int, {"choices": (1, 2)}),
    "--scale": ("scale", float, {}),
    "--margin": ("margin", float, {}),
    "--patience": ("patience", int, {}),
    "--split": ("split", str, {"choices": SPLIT_KINDS}),
    "--validation": ("validation", str, {"choices": VALIDATION_KINDS}),
    "--validation-fraction": ("validation_fraction", float, {}),
    "--holdout-fraction": ("holdout_fraction", float, {}),
    "--people-fraction": ("people_fraction", float, {}),
    "--seed": ("seed", int, {}),
    "--split-seed": ("split_seed", int, {}),
    "--precision": ("precision", str, {"choices": PRECISIONS}),
    "--distill": ("distill", str, {"choices": DISTILL_KINDS}),
    "--classifier-weight": ("classifier_weight", float, {}),
    "--projection-weight": ("projection_weight", float, {}),
    "--similarity-weight": ("similarity_weight", float, {}),
    "--contrastive-weight": ("contrastive_weight", float, {}),
    "--contrastive-temperature": ("contrastive_temperature", float, {}),
    "--stage2-hint-weight": ("stage2_hint_weight", float, {}),
    "--stage3-hint-weight": ("stage3_hint_weight", float, {}),
    "--erase": ("erase", float, {}),
    "--neighbour-group": ("neighbour_group", int, {}),
    "--neighbour-pool": ("neighbour_pool", int, {}),
}

SWITCHES = {  # flag -> (TrainConfig field, the value the flag sets, help)
    "--always-subtract": ("always_subtract", True, "subtract the margin unconditionally"),
    "--no-augment": ("augment", False, "turn training augmentation off"),
    "--client-augment": (
        "client_augment",
        True,
        "degrade images as clients do (grey, JPEG, low resolution, ...)",
    ),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``train`` options to ``parser``."""
    parser.add_argument(
        "--preset",
        default="default",
        choices=sorted(PRESETS),
        help="named configuration (default: %(default)s)",
    )
    _add_inputs(parser)
    for flag, (field, kind, extra) in OVERRIDES.items():
        parser.add_argument(
            flag,
            dest=field,
            type=kind,
            default=None,
            help=f"override the preset's {field}",
            **extra,
        )
    for flag, (field, value, help_text) in SWITCHES.items():
        parser.add_argument(
            flag, dest=field, action="store_const", const=value, default=None, help=help_text
        )
    parser.add_argument(
        "--verbose",
        type=int,
        default=1,
        choices=(0, 1, 2),
        help="Keras verbosity: 1 = progress bar, 2 = one line per epoch",
    )


def _add_inputs(parser: argparse.ArgumentParser) -> None:
    """Add the run's images, teacher vectors, starting weights and run directory."""
    parser.add_argument(
        "--data",
        action="append",
        required=True,
        metavar="DIR",
        help="identity-folder root (PATH or NAMESPACE=PATH); repeatable",
    )
    parser.add_argument("--out", required=True, type=Path, help="run directory")
    parser.add_argument(
        "--unlabelled",
        action="append",
        default=[],
        metavar="DIR",
        help="prepared crops without identities, DIR/IMAGE (distillation only)",
    )
    parser.add_argument(
        "--teacher",
        type=Path,
        metavar="CACHE",
        help="prepare cache holding `training teacher` vectors (distillation)",
    )
    parser.add_argument(
        "--teacher-views",
        nargs="+",
        choices=VIEWS,
        default=[ORIGINAL],
        metavar="VIEW",
        help="the teacher vectors' views averaged into each target (original, mirror: "
        "`training teacher --view mirror` first)",
    )
    parser.add_argument(
        "--exclude",
        type=Path,
        metavar="REPORT",
        help="a `training audit` report: its suspect crops are left out of training "
        "(never out of validation or the held-out people)",
    )
    parser.add_argument(
        "--init-from",
        type=Path,
        metavar="CHECKPOINT",
        help="start from a .keras checkpoint with the same classes and heads, loaded by "
        "layer name (so a checkpoint of the original layout can start a --stage1-stride 1 "
        "run), e.g. to train a finished run longer with a fresh schedule; or from an "
        "exported model directory (e.g. models/resnet18-2.7.0): its backbone, with the heads "
        "fitted to it on this run's images (any identities)",
    )


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """Return the chosen preset with the command-line overrides applied."""
    fields = [field for field, _, _ in OVERRIDES.values()]
    fields += [field for field, _, _ in SWITCHES.values()]
    return get_preset(args.preset, **{field: getattr(args, field) for field in fields})


def inputs_from_args(args: argparse.Namespace) -> RunInputs:
    """Return the run's inputs: the chosen config and the paths the options name."""
    return RunInputs(
        config=config_from_args(args),
        data=tuple(args.data),
        out=args.out,
        unlabelled=tuple(args.unlabelled),
        teacher=args.teacher,
        teacher_views=tuple(args.teacher_views),
        exclude=args.exclude,
        init_from=args.init_from,
        verbose=args.verbose,
    )


def run(args: argparse.Namespace) -> int:
    """Train as ``args`` say; write the run directory. Returns the exit status."""
    from training.run.fit import train_run

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return train_run(inputs_from_args(args))
