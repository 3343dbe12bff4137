"""Devices, numeric precision and the tf.distribute strategy for training."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import keras
import tensorflow as tf

log = logging.getLogger(__name__)


def enable_memory_growth() -> list:
    """Turn on memory growth for every GPU (so TF does not grab all memory).

    Returns:
        The physical GPU devices found (possibly empty).
    """
    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError as error:  # already initialised
            log.warning("could not enable memory growth on %s: %s", gpu.name, error)
    return gpus


def set_precision(precision: str, have_gpu: bool) -> str:
    """Set the global Keras dtype policy.

    Args:
        precision: ``"float32"`` or ``"mixed"`` (float16 on GPU, bfloat16 on CPU).
        have_gpu: Whether a GPU will run the model.

    Returns:
        The policy name set.
    """
    if precision == "float32":
        policy = "float32"
    elif precision == "mixed":
        policy = "mixed_float16" if have_gpu else "mixed_bfloat16"
    else:
        raise ValueError(f"precision must be 'float32' or 'mixed', got {precision!r}")
    keras.mixed_precision.set_dtype_policy(policy)
    return policy


def cluster_spec() -> dict | None:
    """Return the parsed ``TF_CONFIG`` when it describes a multi-worker cluster."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return None
    config = json.loads(raw)
    return config if config.get("cluster", {}).get("worker") else None


def is_chief() -> bool:
    """Return True unless this process is a non-chief worker of a multi-worker cluster."""
    config = cluster_spec()
    if config is None:
        return True
    task = config.get("task", {})
    if task.get("type") == "chief":
        return True
    return "chief" not in config["cluster"] and task.get("index", 0) == 0


def worker_dir(out: Path) -> Path:
    """Return where this process writes: ``out`` for the chief, a sub-folder otherwise."""
    if is_chief():
        return out
    return out / "workers" / f"worker{cluster_spec()['task'].get('index', 0)}"


def num_workers() -> int:
    """Return how many machines train together: the cluster's workers (and chief), else 1."""
    config = cluster_spec()
    if config is None:
        return 1
    cluster = config["cluster"]
    return len(cluster["worker"]) + len(cluster.get("chief", []))


def choose_strategy(gpus: list) -> tf.distribute.Strategy:
    """Pick the strategy: multi-worker when ``TF_CONFIG`` is set, mirrored over 2+ GPUs.

    Multi-worker runs train with :mod:`training.run.multiworker`'s custom loop, not
    ``Model.fit`` (keras-team/keras#20585).

    Args:
        gpus: The local physical GPUs.

    Returns:
        The strategy to build and train the model under.
    """
    if cluster_spec() is not None:
        return tf.distribute.MultiWorkerMirroredStrategy()
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def setup(precision: str) -> tuple[tf.distribute.Strategy, str]:
    """Configure devices and precision, and return ``(strategy, dtype policy name)``."""
    gpus = enable_memory_growth()
    strategy = choose_strategy(gpus)
    policy = set_precision(precision, have_gpu=bool(gpus))
    log.info(
        "strategy %s with %d replica(s), policy %s",
        type(strategy).__name__,
        strategy.num_replicas_in_sync,
        policy,
    )
    return strategy, policy
