"""Open-set validation: people-disjoint splits, seeded pairs, and the val_eer it logs."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest
from image_factory import make_identity_folders

from training.cli import main
from training.data.datasets import make_splits
from training.data.folders import ImageRecord
from training.evaluation.verification import equal_error_rate
from training.model.network import FEATURE_LAYER
from training.presets import get_preset
from training.run.people_validation import (
    VAL_EER,
    VAL_EER_JOINED,
    PeopleValidation,
    index_pairs,
    trained_before,
)


def records(people: int, images: int, source: str = "set") -> list[ImageRecord]:
    return [
        ImageRecord(Path(f"/{source}/{p}/{i}.png"), f"{source}/{p}", source)
        for p in range(people)
        for i in range(images)
    ]


def identities(rows) -> set[str]:
    return {r.identity for r in rows}


def test_validation_people_are_new_and_the_heldout_people_do_not_move():
    faces = records(40, 3, "a") + records(20, 2, "b")
    closed = make_splits(faces, get_preset("teacher", validation_fraction=0.1))
    opened = make_splits(faces, get_preset("teacher", validation="people", validation_fraction=0.1))
    assert opened.heldout == closed.heldout
    assert identities(closed.validation) <= identities(closed.train)
    assert not identities(opened.validation) & identities(opened.train)
    assert not identities(opened.validation) & identities(opened.heldout)
    assert len(identities(opened.validation)) == 3 + 2  # 10% of 34 and of 17 people left
    assert len(opened.train) + len(opened.validation) == len(closed.train) + len(closed.validation)


def test_the_split_follows_split_seed_only():
    faces = records(40, 3, "a")
    base = make_splits(faces, get_preset("teacher", validation="people"))
    replicate = make_splits(faces, get_preset("teacher", validation="people", seed=7))
    assert replicate == base  # another seed trains differently on the same people
    other = make_splits(faces, get_preset("teacher", validation="people", split_seed=7))
    assert identities(other.heldout) != identities(base.heldout)


def test_people_validation_needs_the_identity_split_and_picks_by_eer():
    with pytest.raises(ValueError, match="validation"):
        get_preset("original", validation="people")
    with pytest.raises(ValueError, match="validation"):
        get_preset("teacher", validation="faces")
    assert get_preset("teacher", validation="people").monitor == (VAL_EER, "min")


def test_pairs_are_seeded_capped_per_person_and_labelled():
    names = [f"p{i // 12}" for i in range(120)]  # 10 people, 66 possible pairs each
    pairs = index_pairs(names, seed=3, genuine_per_person=20, impostors=500)
    assert int(pairs.same.sum()) == 10 * 20 and int((~pairs.same).sum()) == 500
    owners = np.asarray(names)
    assert np.array_equal(owners[pairs.first] == owners[pairs.second], pairs.same)
    assert np.all(pairs.first != pairs.second)
    again = index_pairs(names, seed=3, genuine_per_person=20, impostors=500)
    assert np.array_equal(again.first, pairs.first) and np.array_equal(again.second, pairs.second)


@pytest.mark.parametrize("names", [["a", "a", "a"], ["a", "b", "c"]])
def test_pairs_without_genuine_or_impostor_pairs_are_refused(names):
    with pytest.raises(ValueError, match="genuine and impostor"):
        index_pairs(names, seed=0)


def test_people_a_starting_checkpoint_trained_on_are_counted(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "labels.json").write_text(json.dumps({"a/1": 0, "a/2": 1}))
    (run / "final.keras").write_bytes(b"")
    assert trained_before({"a/1", "a/3"}, run / "final.keras") == 1
    assert trained_before({"a/1"}, run) == 0  # an export directory lists no training people
    assert trained_before({"a/1"}, tmp_path / "elsewhere.keras") == 0


def pooling_model(channels: int) -> keras.Model:
    """A model whose feature is the image's mean colour: the pixels decide the EER."""
    inputs = keras.Input((4, 4, channels))
    feature = keras.layers.GlobalAveragePooling2D(name=FEATURE_LAYER)(inputs)
    return keras.Model(inputs, keras.layers.Dense(2, name="predictions")(feature))


def people_pixels(people: int, images: int, rng) -> tuple[np.ndarray, list[str]]:
    """Each person a colour of their own (one-hot channel), plus a little noise."""
    colours = np.repeat(np.eye(people) * 200.0, images, axis=0) + rng.uniform(
        0, 5, (people * images, people)
    )
    pixels = np.broadcast_to(colours[:, None, None, :], (people * images, 4, 4, people))
    names = [f"p{i // images}" for i in range(people * images)]
    return np.ascontiguousarray(pixels).astype(np.uint8), names


def val_eer(pixels, names) -> float:
    callback = PeopleValidation(pixels, index_pairs(names, seed=0), batch_size=7)
    callback.set_model(pooling_model(pixels.shape[-1]))
    logs: dict[str, float] = {}
    callback.on_epoch_end(0, logs)
    return logs[VAL_EER]


def test_the_callback_logs_the_eer_of_the_feature_layer():
    rng = np.random.default_rng(0)
    pixels, names = people_pixels(people=5, images=4, rng=rng)
    assert val_eer(pixels, names) == 0.0  # every person apart: no error
    shuffled = list(rng.permutation(names))
    assert val_eer(pixels, shuffled) > 0.2  # labels unrelated to the features


def test_a_model_with_a_teacher_projection_also_logs_the_joined_eer():
    """``val_eer_joined`` is the EER of the mean of the feature's and the projection's cosines."""
    rng = np.random.default_rng(0)
    pixels, names = people_pixels(people=5, images=4, rng=rng)
    plain = pooling_model(5)
    feature = plain.get_layer(FEATURE_LAYER).output
    projection = keras.layers.Dense(3, use_bias=False, name="teacher_projection")(feature)
    model = keras.Model(plain.inputs, [plain.outputs[0], projection])
    kernel = rng.normal(size=(5, 3)).astype(np.float32)
    model.get_layer("teacher_projection").set_weights([kernel])
    pairs = index_pairs(list(rng.permutation(names)), seed=0)  # some errors to measure
    callback = PeopleValidation(pixels, pairs, batch_size=7)
    callback.set_model(model)
    logs: dict[str, float] = {}
    callback.on_epoch_end(0, logs)
    features = pixels.astype(np.float64).mean(axis=(1, 2))
    cosines = [
        np.sum(unit[pairs.first] * unit[pairs.second], axis=1)
        for unit in (normalised(features), normalised(features @ kernel))
    ]
    expected = equal_error_rate(pairs.same, (cosines[0] + cosines[1]) / 2)
    assert logs[VAL_EER_JOINED] == pytest.approx(expected, abs=1e-6)
    assert logs[VAL_EER] == pytest.approx(equal_error_rate(pairs.same, cosines[0]), abs=1e-6)
    assert logs[VAL_EER_JOINED] != logs[VAL_EER]
    callback.set_model(plain)
    plain_logs: dict[str, float] = {}
    callback.on_epoch_end(0, plain_logs)
    assert VAL_EER_JOINED not in plain_logs


def normalised(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.mark.slow
def test_a_run_with_validation_people_keeps_its_best_checkpoint_by_eer(tmp_path):
    data = make_identity_folders(tmp_path / "faces", people=5)
    out = tmp_path / "run"
    flags = "--split identity --holdout-fraction 0.2 --validation people --validation-fraction 0.5"
    args = ["train", "--preset", "smoke", "--data", str(data), "--out", str(out), "--verbose", "0"]
    assert main([*args, *flags.split()]) == 0
    with (out / "history.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 and all(0.0 <= float(row[VAL_EER]) <= 1.0 for row in rows)
    assert (out / "best.keras").is_file() and (out / "learning_curve.png").is_file()
    split = json.loads((out / "split.json").read_text())
    labels = json.loads((out / "labels.json").read_text())
    validation_people = {row["identity"] for row in split["validation"]}
    assert split["validation_kind"] == "people" and len(validation_people) == 2
    assert not validation_people & set(labels) and not validation_people & set(
        split["heldout_identities"]
    )
    summary = json.loads((out / "summary.json").read_text())
    assert VAL_EER in summary["best"]
