"""The files ``training train`` writes in its run directory itself (Keras callbacks write the rest).

``config.json``: the config plus how and on what the run was made; ``summary.json``: wall time,
throughput, counts and the best validation epoch. Both are read back by
:mod:`training.data.run_info`.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

from facecore.metadata import ModelMetadata
from training.config import TrainConfig
from training.data.folders import absolute_spec
from training.run.inputs import RunInputs


def write_json(path: Path, content: Any) -> None:
    """Write ``content`` as indented JSON."""
    path.write_text(json.dumps(content, indent=2) + "\n")


def run_facts(
    inputs: RunInputs,
    strategy,
    policy: str,
    previous_config: Path | None = None,
) -> dict:
    """Return ``config.json``: the config fields plus how and on what the run was made.

    A resumed run passes its ``previous_config`` and keeps that record of the weights it
    started from (``--init-from`` is not applied again, and its export may be gone).
    """
    config = inputs.config
    return {
        **config.to_dict(),
        "data": [absolute_spec(spec) for spec in inputs.data],
        "unlabelled": [str(Path(root).resolve()) for root in inputs.unlabelled],
        **_weights_record(inputs.init_from, previous_config),
        "teacher": str(inputs.teacher.resolve()) if inputs.teacher else None,
        "teacher_views": list(inputs.teacher_views) if inputs.teacher else None,
        "exclude": str(inputs.exclude.resolve()) if inputs.exclude else None,
        "monitor": config.monitor[0],
        "monitor_mode": config.monitor[1],
        "dtype_policy": policy,
        "strategy": type(strategy).__name__,
        "replicas": strategy.num_replicas_in_sync,
        "command": shlex.join([sys.executable, "-m", "training", *sys.argv[1:]]),
    }


def _weights_record(init_from: Path | None, previous_config: Path | None) -> dict:
    """``init_from`` and ``init_from_model``: a resumed run keeps its earlier record as is."""
    earlier = _started_from(previous_config) if previous_config is not None else {}
    if {"init_from", "init_from_model"} <= earlier.keys():
        return earlier  # --init-from is not read again: its export may be gone
    return {
        "init_from": str(init_from.resolve()) if init_from else None,
        "init_from_model": starting_weights_name(init_from),
        **earlier,
    }


def _started_from(previous_config: Path) -> dict:
    """``init_from`` and ``init_from_model`` of the run's earlier ``config.json``, if any."""
    if not previous_config.is_file():
        return {}
    previous = json.loads(previous_config.read_text())
    return {key: previous[key] for key in ("init_from", "init_from_model") if key in previous}


def starting_weights_name(path: Path | None) -> str | None:
    """Name the weights ``--init-from`` names, for the run record and the export's metadata.

    An exported model directory is ``"NAME VERSION"``; a checkpoint of another run is
    ``"FILE of run RUN"`` plus what that run started from, so lineage survives chained runs.
    """
    if path is None:
        return None
    if path.is_dir():
        metadata = ModelMetadata.load(path)
        return f"{metadata.name} {metadata.version}"
    name = f"{path.name} of run {path.resolve().parent.name}"
    earlier = _started_from(path.parent / "config.json").get("init_from_model")
    return f"{name} (started from {earlier})" if earlier else name


def throughput(epoch_seconds: list[float], images_per_epoch: int) -> float | None:
    """Training images per second over the epochs after the first (compilation) one.

    Epoch times include validation, so this slightly understates pure training speed.
    """
    timed = epoch_seconds[1:] or epoch_seconds
    return round(images_per_epoch * len(timed) / sum(timed), 2) if timed else None


def summarize(
    history: list[dict[str, float]],
    config: TrainConfig,
    fit_seconds: float,
    epoch_seconds: list[float],
    counts: dict[str, int],
) -> dict:
    """Return ``summary.json``: wall time, throughput and the best validation epoch."""
    from training.run.callbacks import best_epoch

    monitor, mode = config.monitor
    best = best_epoch(history, monitor, mode)
    return {
        "wall_time_s": round(fit_seconds, 2),
        "epochs_completed": len(history),
        "epochs_this_session": len(epoch_seconds),
        "images_per_s": throughput(
            epoch_seconds, counts["steps_per_epoch"] * counts["global_batch_size"]
        ),
        "monitor": monitor,
        "best_epoch": int(best["epoch"]) + 1 if best else None,
        "best": {k: v for k, v in best.items() if k.startswith("val_")} if best else None,
        "last": {k: v for k, v in history[-1].items() if k != "epoch"} if history else None,
        **counts,
    }
