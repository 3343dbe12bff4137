"""Multi-worker training: a custom ``tf.distribute`` loop in place of ``Model.fit``.

Keras 3's ``Model.fit`` fails under ``MultiWorkerMirroredStrategy`` (keras-team/keras#20585),
so multi-worker runs train here, as TensorFlow's custom-training and multi-worker guides do:
``strategy.run`` of a ``GradientTape`` step, the per-example loss averaged over the global
batch, sums reduced with ``strategy.reduce``. The compiled model's Keras optimizer applies
the gradients (in a replica context it all-reduces them with a SUM) and the run's Keras
callbacks are driven by hand, so the run directory has the same files as a ``fit`` run.
Resumable state lives in ``tf.train.CheckpointManager`` checkpoints: the chief writes them,
the other workers write to a temporary directory deleted at once, all restore the chief's.
The compiled train, evaluation and synchronisation steps are in
:mod:`training.run.multiworker_steps`.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import tensorflow as tf

from training.config import TrainConfig
from training.run.callbacks import build_callbacks
from training.run.multiworker_steps import build_steps

CHECKPOINT_DIR = "checkpoints"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerRun:
    """Where and how one worker trains.

    Attributes:
        out: This worker's run directory (the chief's is ``--out`` itself).
        checkpoint_dir: The chief's checkpoint directory; every worker restores from it.
        chief: Whether this worker is the chief (whose checkpoints are kept).
        config: The run's configuration.
        verbose: Keras verbosity (0 silent, 1 progress bar, 2 one line per epoch).
    """

    out: Path
    checkpoint_dir: Path
    chief: bool
    config: TrainConfig
    verbose: int


def as_logs(totals: dict[str, float], prefix: str = "") -> dict[str, float]:
    """Turn summed loss, correct and count into Keras-style ``loss`` / ``accuracy`` logs."""
    count = max(totals["count"], 1.0)
    return {f"{prefix}accuracy": totals["correct"] / count, f"{prefix}loss": totals["loss"] / count}


def add_up(totals: dict[str, float], sums: dict[str, tf.Tensor]) -> dict[str, float]:
    """Return ``totals`` plus one step's reduced sums, as Python floats."""
    return {key: totals.get(key, 0.0) + float(value) for key, value in sums.items()}


def train_epoch(train_step, iterator, steps: int, callbacks) -> dict[str, float]:
    """Run ``steps`` training steps, reporting running logs to ``callbacks``."""
    totals: dict[str, float] = {}
    for step in range(steps):
        callbacks.on_train_batch_begin(step)
        totals = add_up(totals, train_step(iterator))
        callbacks.on_train_batch_end(step, as_logs(totals))
        if callbacks.model.stop_training:
            break
    return as_logs(totals)


def evaluate(eval_step, dataset) -> dict[str, float]:
    """Return ``val_loss`` and ``val_accuracy`` over a whole distributed dataset."""
    totals: dict[str, float] = {}
    for images, labels in dataset:
        totals = add_up(totals, eval_step(images, labels))
    return as_logs(totals, prefix="val_") if totals else {}


def checkpointing(model: keras.Model, run: WorkerRun):
    """Return ``(manager, epoch variable)``, restored from the chief's latest checkpoint."""
    epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer, epoch=epoch)
    latest = tf.train.latest_checkpoint(str(run.checkpoint_dir))
    if latest:
        checkpoint.restore(latest).assert_existing_objects_matched()
        log.info("resumed from %s at epoch %d", latest, int(epoch.numpy()))
    directory = run.checkpoint_dir if run.chief else Path(tempfile.mkdtemp(dir=run.out))
    return tf.train.CheckpointManager(checkpoint, str(directory), max_to_keep=1), epoch


def discard_worker_checkpoints(manager: tf.train.CheckpointManager, chief: bool) -> None:
    """Delete a non-chief worker's temporary checkpoint directory (the chief's is kept)."""
    if not chief:
        shutil.rmtree(manager.directory, ignore_errors=True)


def run_callbacks(model: keras.Model, run: WorkerRun, steps: int):
    """Return a ``CallbackList`` of the run's callbacks minus ``BackupAndRestore``."""
    callbacks = [
        callback
        for callback in build_callbacks(run.out, run.config, run.verbose)
        if not isinstance(callback, keras.callbacks.BackupAndRestore)
    ]
    return keras.callbacks.CallbackList(
        callbacks,
        add_progbar=run.verbose > 0,
        model=model,
        verbose=run.verbose,
        epochs=run.config.epochs,
        steps=steps,
    )


def distribute(strategy: tf.distribute.Strategy, datasets: tuple) -> tuple:
    """Return an endless iterator over the training batches and the validation dataset."""
    train, validation = datasets
    iterator = iter(strategy.experimental_distribute_dataset(train.repeat()))
    if validation is not None:
        validation = strategy.experimental_distribute_dataset(validation)
    return iterator, validation


def train_multiworker(
    model: keras.Model,
    strategy: tf.distribute.Strategy,
    datasets: tuple,
    steps: int,
    run: WorkerRun,
) -> list[float]:
    """Train a compiled model with the custom loop; resume from the last checkpoint.

    Args:
        model: The compiled training model, built in ``strategy.scope()``.
        strategy: The multi-worker strategy.
        datasets: ``(train, validation or None)``; batched with the global batch size.
        steps: Training steps (global batches) per epoch.
        run: This worker's settings.

    Returns:
        The wall time of every epoch trained in this session (validation included).
    """
    with strategy.scope():
        model.optimizer.build(model.trainable_variables)
        manager, epoch = checkpointing(model, run)
    train_step, eval_step, sync_step = build_steps(strategy, model, run.config)
    iterator, validation = distribute(strategy, datasets)
    callbacks = run_callbacks(model, run, steps)
    model.stop_training, seconds = False, []
    callbacks.on_train_begin()
    for index in range(int(epoch.numpy()), run.config.epochs):
        started = time.perf_counter()
        callbacks.on_epoch_begin(index)
        logs = train_epoch(train_step, iterator, steps, callbacks)
        sync_step()
        logs.update(evaluate(eval_step, validation) if validation is not None else {})
        epoch.assign(index + 1)
        manager.save()  # on every worker: saving is collective
        discard_worker_checkpoints(manager, run.chief)
        callbacks.on_epoch_end(index, logs)
        seconds.append(time.perf_counter() - started)
        if model.stop_training:
            break
    callbacks.on_train_end()
    discard_worker_checkpoints(manager, run.chief)
    return seconds
