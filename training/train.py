"""``python -m training train``: train the AM-Softmax ResNet18 on identity folders.

Re-running the same command with the same ``--out`` resumes an interrupted run
(and a larger ``--epochs`` continues a finished one).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from training.config import (
    DISTILL_KINDS,
    PRECISIONS,
    PRESETS,
    SCHEDULES,
    SPLIT_KINDS,
    TrainConfig,
    get_preset,
)
from training.run_record import run_facts, summarize, write_json

log = logging.getLogger(__name__)

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
    "--validation-fraction": ("validation_fraction", float, {}),
    "--holdout-fraction": ("holdout_fraction", float, {}),
    "--seed": ("seed", int, {}),
    "--precision": ("precision", str, {"choices": PRECISIONS}),
    "--distill": ("distill", str, {"choices": DISTILL_KINDS}),
    "--projection-weight": ("projection_weight", float, {}),
    "--similarity-weight": ("similarity_weight", float, {}),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``train`` options to ``parser``."""
    parser.add_argument(
        "--preset",
        default="default",
        choices=sorted(PRESETS),
        help="named configuration (default: %(default)s)",
    )
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
        "--init-from",
        type=Path,
        metavar="CHECKPOINT",
        help="start from a .keras checkpoint of the same model (same classes and "
        "heads), e.g. to train a finished run longer with a fresh schedule; or from an "
        "exported model directory (e.g. models/default): its backbone, with the heads "
        "fitted to it on this run's images (any identities)",
    )
    for flag, (field, kind, extra) in OVERRIDES.items():
        parser.add_argument(
            flag,
            dest=field,
            type=kind,
            default=None,
            help=f"override the preset's {field}",
            **extra,
        )
    parser.add_argument(
        "--always-subtract",
        dest="always_subtract",
        action="store_const",
        const=True,
        default=None,
        help="subtract the margin unconditionally",
    )
    parser.add_argument(
        "--no-augment",
        dest="augment",
        action="store_const",
        const=False,
        default=None,
        help="turn training augmentation off",
    )
    parser.add_argument(
        "--client-augment",
        dest="client_augment",
        action="store_const",
        const=True,
        default=None,
        help="degrade images as clients do (grey, JPEG, low resolution, ...)",
    )
    parser.add_argument(
        "--verbose",
        type=int,
        default=1,
        choices=(0, 1, 2),
        help="Keras verbosity: 1 = progress bar, 2 = one line per epoch",
    )


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """Return the chosen preset with the command-line overrides applied."""
    fields = [field for field, _, _ in OVERRIDES.values()] + [
        "always_subtract",
        "augment",
        "client_augment",
    ]
    return get_preset(args.preset, **{field: getattr(args, field) for field in fields})


def train_model(
    model, strategy, datasets: tuple, steps: int, args: argparse.Namespace, config: TrainConfig
) -> list[float]:
    """Train with ``Model.fit``, or with :mod:`training.multiworker`'s loop under ``TF_CONFIG``.

    ``fit`` fails under ``MultiWorkerMirroredStrategy`` (keras-team/keras#20585).

    Returns:
        The wall time of every epoch trained in this session (validation included).
    """
    from training.callbacks import EpochTimer, build_callbacks
    from training.distribute import cluster_spec, is_chief, worker_dir

    out = worker_dir(args.out)
    if cluster_spec() is not None:
        from training.multiworker import CHECKPOINT_DIR, WorkerRun, train_multiworker

        run = WorkerRun(out, args.out / CHECKPOINT_DIR, is_chief(), config, args.verbose)
        return train_multiworker(model, strategy, datasets, steps, run)
    timer = EpochTimer()
    model.fit(
        datasets[0],
        validation_data=datasets[1],
        epochs=config.epochs,
        steps_per_epoch=steps,
        shuffle=False,  # the dataset shuffles itself (seeded)
        callbacks=[*build_callbacks(out, config, args.verbose), timer],
        verbose=args.verbose,
    )
    return timer.seconds


def initialise(model, source: Path, run_data) -> None:
    """Load a ``.keras`` checkpoint's weights, or warm start from an export directory."""
    if source.is_dir():
        from training.warm_start import warm_start_from_export

        warm_start_from_export(model, source, run_data.train, run_data.steps_per_epoch)
    else:
        model.load_weights(source)


def run_counts(run_data, batch_size: int) -> dict[str, int]:
    """Images, identities and steps of a run, for ``summary.json``."""
    splits = run_data.splits
    return {
        "train_images": len(splits.train),
        "validation_images": len(splits.validation),
        "unlabelled_images": run_data.unlabelled_images,
        "heldout_images": len(splits.heldout),
        "identities": len(run_data.labels),
        "heldout_identities": len({r.identity for r in splits.heldout}),
        "steps_per_epoch": run_data.steps_per_epoch,
        "global_batch_size": batch_size,
    }


def write_outcome(
    out: Path, config: TrainConfig, fit_seconds: float, epoch_seconds: list[float], counts: dict
) -> None:
    """Write ``summary.json`` and the learning curve of a finished run, and log the summary."""
    from training.callbacks import read_history
    from training.plots import plot_learning_curve

    history = read_history(out)
    summary = summarize(history, config, fit_seconds, epoch_seconds, counts)
    write_json(out / "summary.json", summary)
    plot_learning_curve(history, out / "learning_curve.png")
    log.info(
        "summary: %s",
        json.dumps({k: summary[k] for k in ("wall_time_s", "images_per_s", "best_epoch", "best")}),
    )


def run(args: argparse.Namespace) -> int:
    """Train as ``args`` say; write the run directory. Returns the exit status."""
    import keras

    from training.build import build_training_model
    from training.callbacks import has_backup
    from training.distribute import cluster_spec, num_workers, setup, worker_dir
    from training.run_data import prepare_run_data

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    config = config_from_args(args)
    strategy, policy = setup(config.precision)
    keras.utils.set_random_seed(config.seed)
    out = worker_dir(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if config.distill != "none" and cluster_spec() is not None:
        raise SystemExit(
            "distillation runs use Model.fit: multi-worker (TF_CONFIG) is not supported"
        )
    batch_size = config.batch_size * num_workers()
    run_data = prepare_run_data(args, config, batch_size)
    splits = run_data.splits
    if config.monitor[0].startswith("val_") and run_data.validation is None:
        raise SystemExit("no validation images: raise the validation fraction or add images")
    resuming = has_backup(out)
    previous = out / "config.json" if resuming else None
    write_json(out / "config.json", run_facts(args, config, strategy, policy, previous))
    write_json(out / "labels.json", run_data.labels)
    write_json(out / "split.json", splits.to_dict(config))
    with strategy.scope():
        model = build_training_model(
            config, len(run_data.labels), run_data.steps_per_epoch, run_data.teacher_dim
        )
        if args.init_from is not None and not resuming:
            initialise(model, args.init_from, run_data)  # a resumed run restores its backup
    started = time.perf_counter()
    epoch_seconds = train_model(
        model,
        strategy,
        (run_data.train, run_data.validation),
        run_data.steps_per_epoch,
        args,
        config,
    )
    fit_seconds = time.perf_counter() - started
    model.save(out / "final.keras")
    write_outcome(out, config, fit_seconds, epoch_seconds, run_counts(run_data, batch_size))
    return 0
