"""Keras callbacks of a training run: logging, checkpoints, resume, early stopping."""

from __future__ import annotations

import csv
import importlib.util
import logging
import math
import time
from pathlib import Path

import keras

from training.config import TrainConfig

HISTORY_FILE = "history.csv"
BEST_MODEL = "best.keras"
BACKUP_DIR = "backup"
LOG_DIR = "logs"

log = logging.getLogger(__name__)


def read_history(out_dir: Path) -> list[dict[str, float]]:
    """Return the rows of ``history.csv`` (all epochs, across resumes) as floats."""
    path = out_dir / HISTORY_FILE
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return [
            {key: float(value) for key, value in row.items() if value not in ("", None)}
            for row in csv.DictReader(handle)
        ]


def best_epoch(history: list[dict[str, float]], monitor: str, mode: str) -> dict[str, float] | None:
    """Return the history row with the best finite ``monitor`` value, or None."""
    rows = [row for row in history if math.isfinite(row.get(monitor, math.nan))]
    if not rows:
        return None
    pick = max if mode == "max" else min
    return pick(rows, key=lambda row: row[monitor])


class EpochTimer(keras.callbacks.Callback):
    """Record the wall time of every epoch (validation included)."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []
        self._started = 0.0

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        """Start the clock."""
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        """Stop the clock and record the epoch's time."""
        self.seconds.append(time.perf_counter() - self._started)


class HistoryLogger(keras.callbacks.CSVLogger):
    """``CSVLogger`` that keeps an existing ``history.csv``'s columns when a run resumes.

    Keras fixes the columns from the first epoch it logs, so a run resumed under code that
    logs another metric would append rows longer than the file's header. Here a resumed run
    writes the header's columns only (a metric added since is not logged for that run).
    """

    def on_train_begin(self, logs=None) -> None:
        """Open the file; when appending to a history, take its columns."""
        path = Path(self.filename)
        header: list[str] = []
        if self.append and path.exists():
            with path.open(newline="") as handle:
                header = next(csv.reader(handle), [])
        super().on_train_begin(logs)  # resets the columns
        self.keys = [column for column in header if column != "epoch"] or None


def has_backup(out_dir: Path) -> bool:
    """Whether ``out_dir`` holds a backup that the next ``fit`` resumes from."""
    backup = out_dir / BACKUP_DIR
    return backup.is_dir() and any(backup.iterdir())


def build_callbacks(
    out_dir: Path, config: TrainConfig, verbose: int
) -> list[keras.callbacks.Callback]:
    """Create the run's callbacks, all writing under ``out_dir``.

    Re-running the same command resumes from ``out_dir/backup`` (BackupAndRestore keeps
    its checkpoint after the run, so more epochs can be added later); the best
    checkpoint's threshold is restored from ``history.csv`` so a resumed run never
    replaces ``best.keras`` with a worse model.

    Args:
        out_dir: The run directory (this worker's own directory in multi-worker runs).
        config: The run's configuration (monitor, patience).
        verbose: Keras verbosity for the checkpoint and early-stopping messages.

    Returns:
        The callbacks for ``Model.fit``.
    """
    monitor, mode = config.monitor
    previous_best = best_epoch(read_history(out_dir), monitor, mode)
    callbacks: list[keras.callbacks.Callback] = [
        keras.callbacks.BackupAndRestore(str(out_dir / BACKUP_DIR), delete_checkpoint=False),
        keras.callbacks.ModelCheckpoint(
            str(out_dir / BEST_MODEL),
            monitor=monitor,
            mode=mode,
            save_best_only=True,
            initial_value_threshold=previous_best[monitor] if previous_best else None,
            verbose=min(verbose, 1),
        ),
        HistoryLogger(str(out_dir / HISTORY_FILE), append=True),
        keras.callbacks.TerminateOnNaN(),
    ]
    if importlib.util.find_spec("tensorboard") is not None:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(out_dir / LOG_DIR)))
    else:
        log.warning("tensorboard is not installed: no TensorBoard logs")
    if config.patience > 0:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=monitor, mode=mode, patience=config.patience, verbose=min(verbose, 1)
            )
        )
    return callbacks
