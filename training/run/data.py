"""Everything a training run feeds the model: splits, class map, datasets, teacher targets."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.config import TrainConfig, stage_hint_head
from training.data import datasets as data
from training.data.folders import (
    keep_share_of_people,
    scan_identity_folders,
    scan_unlabelled_folders,
)
from training.run.inputs import RunInputs
from training.run.people_validation import PeopleValidation, index_pairs
from training.teacher.cache import load_view_average
from training.teacher.morphs import check_sources
from training.teacher.neighbours import neighbour_order, teacher_neighbours
from training.teacher.targets import class_labels, distillation_targets, read_suspects

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunData:
    """The loaded data of a run.

    Attributes:
        splits: Labelled train / validation / held-out records.
        labels: Class index of every training identity.
        train: Training batches (labelled + unlabelled images).
        head_batches: Makes the batches a warm start fits the heads on, when one does:
            ``train`` itself, or a plain shuffle of the same images where ``train`` follows a
            teacher-mined order (one epoch of groups holds a quarter of the images as
            anchors, and look-alikes); built on call, so runs without a warm start from an
            export hold no second copy of the pixels.
        validation: Validation batches (closed set), or None without them.
        people_validation: The open-set validation callback (``validation="people"``),
            or None.
        steps_per_epoch: Training steps per epoch.
        unlabelled_images: Images without identities in ``train`` (distillation only).
        teacher_dim: Teacher embedding width, or None without distillation.
    """

    splits: Any
    labels: dict[str, int]
    train: Any
    head_batches: Callable[[], Any]
    validation: Any
    people_validation: Any
    steps_per_epoch: int
    unlabelled_images: int
    teacher_dim: int | None


def prepare_run_data(inputs: RunInputs, batch_size: int) -> RunData:
    """Scan and split the folders, load the pixels and build the datasets.

    ``batch_size`` is the global batch: ``config.batch_size`` times the number of workers.

    Raises:
        ValueError: Unlabelled images or a teacher cache given without distillation, or
            distillation without a teacher cache.
    """
    config = inputs.config
    inputs.check_teacher()
    splits, unlabelled = _scan_records(inputs)
    labels = data.label_map(splits.train)
    train_records = splits.train + unlabelled
    started = time.perf_counter()
    train_x = data.load_pixels(train_records, config.input_size, config.channels)
    val_x = data.load_pixels(splits.validation, config.input_size, config.channels)
    log.info(
        "loaded %d + %d images in %.1f s", len(train_x), len(val_x), time.perf_counter() - started
    )
    closed_set = config.validation == "images"
    val_records = splits.validation if closed_set else []
    train_y, val_y, teacher_dim = _targets(inputs, labels, train_records, val_records)
    steps = config.steps_per_epoch or max(len(train_x) // batch_size, 1)
    order = None
    if config.neighbour_group:
        order = _neighbour_order(train_y, config, steps * batch_size)
    run_config = dataclasses.replace(config, batch_size=batch_size)
    train_ds = data.training_dataset(train_x, train_y, run_config, order)
    shuffled = dataclasses.replace(run_config, steps_per_epoch=steps)

    def head_batches():
        return train_ds if order is None else data.training_dataset(train_x, train_y, shuffled)

    val_ds = (
        data.evaluation_dataset(val_x, val_y, batch_size) if closed_set and len(val_x) else None
    )
    people = None if closed_set else _people_validation(splits.validation, val_x, config)
    return RunData(
        splits, labels, train_ds, head_batches, val_ds, people, steps, len(unlabelled), teacher_dim
    )


def _scan_records(inputs: RunInputs):
    """Return the labelled splits (suspects excluded) and the unlabelled images of the run.

    Raises:
        ValueError: An unlabelled folder holds morphs of images outside this run's training
            split (:func:`training.teacher.morphs.check_sources`).
    """
    config = inputs.config
    splits = data.make_splits(scan_identity_folders(list(inputs.data)), config)
    if inputs.exclude is not None:
        splits = _without_suspects(splits, inputs.exclude)
    check_sources(list(inputs.unlabelled), splits.train)
    unlabelled = keep_share_of_people(
        scan_unlabelled_folders(list(inputs.unlabelled)), config.people_fraction, config.split_seed
    )
    return splits, unlabelled


def _neighbour_order(train_y: dict, config: TrainConfig, epoch_images: int):
    """Return the whole run's order of teacher-mined groups (:mod:`training.teacher.neighbours`)."""
    started = time.perf_counter()
    packed = train_y["embedding"]
    neighbours = teacher_neighbours(packed[:, :-1], packed[:, -1], config.neighbour_pool)
    order = neighbour_order(
        neighbours, config.neighbour_group, config.epochs * epoch_images, config.seed
    )
    log.info(
        "teacher-mined batches: groups of %d from each image's %d nearest (%.1f s)",
        config.neighbour_group,
        config.neighbour_pool,
        time.perf_counter() - started,
    )
    return order


def _without_suspects(splits, report):
    """Return ``splits`` with the report's suspect crops left out of training only.

    Raises:
        ValueError: The report is unreadable, or names a crop that is not in this run's data.
    """
    suspects = read_suspects(report)
    train_paths = [Path(r.path).resolve() for r in splits.train]
    others = {Path(r.path).resolve() for r in splits.validation + splits.heldout}
    if unknown := sorted(suspects - others - set(train_paths)):
        raise ValueError(
            f"{report}: {len(unknown)} crop(s) not in this run's data, e.g. {unknown[0]}"
        )
    train = [r for r, path in zip(splits.train, train_paths, strict=True) if path not in suspects]
    dropped = len(splits.train) - len(train)
    log.info(
        "left %d suspect crops of %s out of training (%d more are validation or held-out)",
        dropped,
        report,
        len(suspects) - dropped,
    )
    return dataclasses.replace(splits, train=train)


def _people_validation(records, pixels, config: TrainConfig):
    """Build the open-set validation callback over the validation people's images.

    Raises:
        ValueError: Too few validation people or images for genuine and impostor pairs.
    """
    pairs = index_pairs([r.identity for r in records], config.split_seed)
    log.info(
        "validation people: %d people, %d images, %d genuine + %d impostor pairs",
        len({r.identity for r in records}),
        len(records),
        int(pairs.same.sum()),
        int((~pairs.same).sum()),
    )
    return PeopleValidation(pixels, pairs, config.batch_size)


def _targets(inputs: RunInputs, labels: dict[str, int], train_records, val_records):
    """``(train y, validation y, teacher dim)``: labels alone, or the distillation dicts."""
    config = inputs.config
    if config.distill == "none":
        return class_labels(train_records, labels), class_labels(val_records, labels), None

    cache = inputs.teacher
    teacher = load_view_average(cache, list(inputs.teacher_views))
    train_y, mean = distillation_targets(train_records, labels, teacher, cache)
    val_y, _ = distillation_targets(val_records, labels, teacher, cache, mean)
    for stage in config.stage_hints:  # every stage hint head learns the same teacher vectors
        head = stage_hint_head(stage)
        train_y[head], val_y[head] = train_y["projection"], val_y["projection"]
    covered = float(train_y["projection"][:, -1].mean())
    log.info(
        "teacher %s: vectors for %.1f%% of the training images", teacher.info.name, 100 * covered
    )
    return train_y, val_y, teacher.info.dimension
