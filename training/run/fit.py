"""Train a run: build the model, start it from its weights, fit it, and write the run's files.

Re-running the same inputs with the same run directory resumes an interrupted run
(and a larger epoch count continues a finished one).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import keras

from training.config import TrainConfig
from training.evaluation.plots import plot_learning_curve
from training.model.build import build_training_model
from training.run.callbacks import EpochTimer, build_callbacks, has_backup, read_history
from training.run.data import prepare_run_data
from training.run.distribute import cluster_spec, is_chief, num_workers, setup, worker_dir
from training.run.inputs import RunInputs
from training.run.people_validation import trained_before
from training.run.record import run_facts, summarize, write_json

log = logging.getLogger(__name__)


def train_model(model, strategy, run_data, inputs: RunInputs) -> list[float]:
    """Train with ``Model.fit``, or with :mod:`training.run.multiworker`'s loop under ``TF_CONFIG``.

    ``fit`` fails under ``MultiWorkerMirroredStrategy`` (keras-team/keras#20585).

    Returns:
        The wall time of every epoch trained in this session (validation included).
    """
    config, out = inputs.config, worker_dir(inputs.out)
    steps = run_data.steps_per_epoch
    if cluster_spec() is not None:
        from training.run.multiworker import CHECKPOINT_DIR, WorkerRun, train_multiworker

        run = WorkerRun(out, inputs.out / CHECKPOINT_DIR, is_chief(), config, inputs.verbose)
        datasets = (run_data.train, run_data.validation)
        return train_multiworker(model, strategy, datasets, steps, run)
    timer = EpochTimer()
    # The open-set validation writes val_eer into the logs the checkpoint then reads.
    first = [run_data.people_validation] if run_data.people_validation is not None else []
    model.fit(
        run_data.train,
        validation_data=run_data.validation,
        epochs=config.epochs,
        steps_per_epoch=steps,
        shuffle=False,  # the dataset shuffles itself (seeded)
        callbacks=[*first, *build_callbacks(out, config, inputs.verbose), timer],
        verbose=inputs.verbose,
    )
    return timer.seconds


def initialise(model, source: Path, run_data) -> None:
    """Warm start from an export directory, or load a ``.keras`` checkpoint by layer name.

    By name, a checkpoint of the original layout can start a ``stage1_stride`` 1 run.
    """
    if source.is_dir():
        from training.run.warm_start import warm_start_from_export

        warm_start_from_export(model, source, run_data.head_batches(), run_data.steps_per_epoch)
    else:
        from training.model.layer_transfer import load_weights_by_name

        load_weights_by_name(model, source)


def warn_if_validation_people_were_trained(validation, init_from: Path) -> None:
    """Warn when the starting checkpoint learnt validation people: val_eer then flatters."""
    people = {record.identity for record in validation}
    seen = trained_before(people, init_from)
    if seen:
        log.warning(
            "%d of the %d validation people were training people of %s's run: "
            "val_eer flatters the model, use it to compare epochs, not models",
            seen,
            len(people),
            init_from,
        )


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
    history = read_history(out)
    summary = summarize(history, config, fit_seconds, epoch_seconds, counts)
    write_json(out / "summary.json", summary)
    plot_learning_curve(history, out / "learning_curve.png")
    log.info(
        "summary: %s",
        json.dumps({k: summary[k] for k in ("wall_time_s", "images_per_s", "best_epoch", "best")}),
    )


def write_run_files(out: Path, inputs: RunInputs, run_data, strategy, policy: str) -> bool:
    """Write the run's config, labels and split; return whether it resumes from a backup."""
    resuming = has_backup(out)
    previous = out / "config.json" if resuming else None
    write_json(out / "config.json", run_facts(inputs, strategy, policy, previous))
    write_json(out / "labels.json", run_data.labels)
    write_json(out / "split.json", run_data.splits.to_dict(inputs.config))
    return resuming


def train_run(inputs: RunInputs) -> int:
    """Train as ``inputs`` say; write the run directory. Returns the exit status.

    Raises:
        ValueError: Inputs that cannot make a run: multi-worker with distillation or validation
            people, no validation images, or the errors of :func:`prepare_run_data`.
    """
    config = inputs.config
    strategy, policy = setup(config.precision)
    keras.utils.set_random_seed(config.seed)
    out = worker_dir(inputs.out)
    out.mkdir(parents=True, exist_ok=True)
    if cluster_spec() is not None and (config.distill != "none" or config.validation == "people"):
        raise ValueError(
            "distillation and validation people use Model.fit: "
            "multi-worker (TF_CONFIG) is not supported"
        )
    batch_size = config.batch_size * num_workers()
    run_data = prepare_run_data(inputs, batch_size)
    validated = run_data.validation is not None or run_data.people_validation is not None
    if config.monitor[0].startswith("val_") and not validated:
        raise ValueError("no validation images: raise the validation fraction or add images")
    resuming = write_run_files(out, inputs, run_data, strategy, policy)
    if run_data.people_validation is not None and inputs.init_from is not None:
        warn_if_validation_people_were_trained(run_data.splits.validation, inputs.init_from)
    with strategy.scope():
        model = build_training_model(
            config, len(run_data.labels), run_data.steps_per_epoch, run_data.teacher_dim
        )
        if inputs.init_from is not None and not resuming:
            initialise(model, inputs.init_from, run_data)  # a resumed run restores its backup
    started = time.perf_counter()
    epoch_seconds = train_model(model, strategy, run_data, inputs)
    fit_seconds = time.perf_counter() - started
    model.save(out / "final.keras")
    write_outcome(out, config, fit_seconds, epoch_seconds, run_counts(run_data, batch_size))
    return 0
