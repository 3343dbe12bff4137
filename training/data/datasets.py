"""Data pipeline: identity-folder records -> model pixels in memory -> tf.data datasets."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from training.config import TrainConfig
from training.data.augment import build_augmenter, degrade_like_clients
from training.data.folders import (
    ImageRecord,
    keep_share_of_people,
    split_identities,
    split_per_image,
)
from training.data.images import load_image


@dataclass(frozen=True)
class Splits:
    """The three parts of a run's data.

    ``validation`` holds new photos of the training people (``validation="images"``,
    closed set) or other people (``"people"``, open set); ``heldout`` holds people
    neither training nor validation saw (empty for the per-image split).
    """

    train: list[ImageRecord]
    validation: list[ImageRecord]
    heldout: list[ImageRecord]

    def to_dict(self, config: TrainConfig) -> dict:
        """Return the content of ``split.json``: kind, seed, held-out people and records."""

        def rows(records: Sequence[ImageRecord]) -> list[dict[str, str]]:
            return [
                {"path": str(Path(r.path).resolve()), "identity": r.identity, "source": r.source}
                for r in records
            ]

        return {
            "kind": config.split,
            "seed": config.split_seed,
            "holdout_fraction": config.holdout_fraction,
            "validation_fraction": config.validation_fraction,
            "train_identities": sorted({r.identity for r in self.train}),
            "heldout_identities": sorted({r.identity for r in self.heldout}),
            "validation_kind": config.validation,
            "train": rows(self.train),
            "validation": rows(self.validation),
            "heldout": rows(self.heldout),
        }


def make_splits(records: Sequence[ImageRecord], config: TrainConfig) -> Splits:
    """Split records as the config says.

    ``identity``: hold out a share of the people, then validate on a share of the
    remaining people's images (``validation="images"``) or of the remaining people
    (``"people"``). ``per_image``: closed-set split of everyone. The held-out people
    depend on ``split_seed`` and the hold-out share alone, not on the validation kind nor on
    ``seed`` (so runs that differ only in ``seed`` are scored on the same people).
    ``people_fraction`` < 1 then leaves out a share of the remaining people altogether.
    """
    heldout: list[ImageRecord] = []
    if config.split == "identity":
        records, heldout = split_identities(records, config.holdout_fraction, config.split_seed)
    records = keep_share_of_people(records, config.people_fraction, config.split_seed)
    if config.validation == "people":
        train, validation = split_identities(records, config.validation_fraction, config.split_seed)
    else:
        train, validation = split_per_image(records, config.validation_fraction, config.split_seed)
    return Splits(train, validation, heldout)


def label_map(records: Sequence[ImageRecord]) -> dict[str, int]:
    """Map each identity to a class index, in sorted identity order."""
    return {identity: index for index, identity in enumerate(sorted({r.identity for r in records}))}


def load_pixels(
    records: Sequence[ImageRecord], size: int, channels: int, workers: int | None = None
) -> np.ndarray:
    """Load every record's image once, in a thread pool.

    Args:
        records: The images to load.
        size: Model input side.
        channels: Model input channels (1 or 3).
        workers: Threads; defaults to the CPU count.

    Returns:
        uint8 array (len(records), size, size, channels).
    """
    pixels = np.empty((len(records), size, size, channels), dtype=np.uint8)
    if not records:
        return pixels

    def fill(index: int) -> None:
        pixels[index] = load_image(records[index].path, size, channels)

    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        list(pool.map(fill, range(len(records))))
    return pixels


def _sharded_by_data(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """Let multi-worker training shard an in-memory dataset by element, not by file."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def training_dataset(
    pixels: np.ndarray, targets, config: TrainConfig, order: np.ndarray | None = None
) -> tf.data.Dataset:
    """Return cached, shuffled (seeded), augmented training batches (float32 0..255).

    ``targets`` is a label array or a dict of per-output arrays (distillation). ``order``
    (image indices, e.g. :func:`training.teacher.neighbours.neighbour_order`) replaces the
    shuffle: the images come in that order, batched as they come, and the dataset ends with
    it. With ``config.client_augment`` every image is first degraded as clients degrade
    photos (:func:`training.data.augment.degrade_like_clients`). Without an order it repeats
    forever when ``config.steps_per_epoch`` is set; otherwise one pass per epoch, dropping
    the last partial batch when there is more than one batch.
    """
    if order is not None:
        dataset = _in_order(pixels, targets, order)
    else:
        dataset = tf.data.Dataset.from_tensor_slices((pixels, targets)).cache()
        dataset = dataset.shuffle(len(pixels), seed=config.seed, reshuffle_each_iteration=True)
        if config.steps_per_epoch is not None:
            dataset = dataset.repeat()
    if config.client_augment:
        dataset = dataset.map(
            lambda x, y: (degrade_like_clients(tf.cast(x, tf.float32)), y),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    dataset = dataset.batch(config.batch_size, drop_remainder=len(pixels) > config.batch_size)
    dataset = dataset.map(
        lambda x, y: (tf.cast(x, tf.float32), y), num_parallel_calls=tf.data.AUTOTUNE
    )
    if config.augment:
        augmenter = build_augmenter(config.seed, erase=config.erase)
        dataset = dataset.map(
            lambda x, y: (tf.clip_by_value(augmenter(x, training=True), 0.0, 255.0), y),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    return _sharded_by_data(dataset.prefetch(tf.data.AUTOTUNE))


def _in_order(pixels: np.ndarray, targets, order: np.ndarray) -> tf.data.Dataset:
    """Single images and their targets, gathered in ``order``."""
    images = tf.constant(pixels)
    labels = tf.nest.map_structure(tf.constant, targets)

    def gather(index):
        return tf.gather(images, index), tf.nest.map_structure(
            lambda t: tf.gather(t, index), labels
        )

    indices = tf.data.Dataset.from_tensor_slices(np.asarray(order, np.int64))
    return indices.map(gather, num_parallel_calls=tf.data.AUTOTUNE)


def evaluation_dataset(pixels: np.ndarray, targets, batch_size: int) -> tf.data.Dataset:
    """Return unshuffled, unaugmented batches (float32 0..255) for validation."""
    dataset = tf.data.Dataset.from_tensor_slices((pixels, targets)).cache().batch(batch_size)
    dataset = dataset.map(lambda x, y: (tf.cast(x, tf.float32), y))
    return _sharded_by_data(dataset.prefetch(tf.data.AUTOTUNE))
