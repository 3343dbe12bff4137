"""Training configuration: presets, validation and the weight of each loss term."""

from __future__ import annotations

import dataclasses

import pytest

from training.config import TrainConfig
from training.presets import PRESETS, get_preset


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_are_valid_and_frozen(name):
    config = get_preset(name)
    assert TrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.epochs = 1


def test_original_preset_keeps_the_tutorial_design():
    config = get_preset("original")
    assert (config.input_shape, config.stage1_stride, config.batch_size) == ((224, 224, 1), 2, 64)
    assert (config.scale, config.margin, config.always_subtract) == (30.0, 0.35, False)


@pytest.mark.parametrize(
    ("distill", "expected"),
    [
        ("projection", {"predictions": 0.5, "projection": 10.0, "embedding": 0.0}),
        ("similarity", {"predictions": 0.5, "projection": 0.0, "embedding": 30.0}),
        ("both", {"predictions": 0.5, "projection": 10.0, "embedding": 30.0}),
    ],
)
def test_loss_weights_follow_the_distillation_kind(distill, expected):
    config = get_preset("teacher", distill=distill, classifier_weight=0.5)
    assert config.loss_weights == expected


def test_each_stage_hint_head_gets_its_own_weight():
    config = get_preset("teacher", distill="projection", stage3_hint_weight=5.0)
    assert config.loss_weights["stage3_projection"] == 5.0
    assert "stage2_projection" not in config.loss_weights
    both = get_preset("teacher", distill="projection", stage2_hint_weight=2, stage3_hint_weight=5)
    assert (both.loss_weights["stage2_projection"], both.stage_hints) == (2.0, {2: 2.0, 3: 5.0})
    assert get_preset("teacher", distill="projection").stage_hints == {}


def test_teacher_terms_alone_are_allowed():
    config = get_preset("teacher", distill="projection", classifier_weight=0.0)
    assert config.loss_weights["predictions"] == 0.0


@pytest.mark.parametrize(
    "overrides",
    [
        {"classifier_weight": -1.0, "distill": "projection"},
        {"classifier_weight": 0.5, "distill": "none"},  # nothing else to weigh it against
        {"projection_weight": -1.0},
        {"learning_rate": 0.0},
        {"distill": "teacher"},
        {"validation_fraction": 1.0},
        {"erase": 1.5},
        {"erase": 0.5, "augment": False},  # erasing is part of the augmentation
        {"neighbour_group": 3},  # batches of 64 are not groups of 3
        {"neighbour_group": 4, "neighbour_pool": 2},  # 3 partners from 2 neighbours
        {"neighbour_group": 4, "distill": "none"},  # neighbours are the teacher's
        {"stage3_hint_weight": -1.0},
        {"stage3_hint_weight": 1.0, "distill": "none"},  # a hint needs the teacher
        {"stage2_hint_weight": -1.0},
        {"stage2_hint_weight": 1.0, "distill": "none"},
        {"contrastive_weight": -0.1, "distill": "projection"},
        {"contrastive_weight": 0.1, "distill": "similarity"},  # it extends the projection hint
        {"contrastive_temperature": 0.0},
    ],
)
def test_invalid_values_are_named(overrides):
    with pytest.raises(ValueError, match=next(iter(overrides))):
        get_preset("teacher", **overrides)


def test_none_overrides_keep_the_preset():
    assert get_preset("teacher", epochs=None) == get_preset("teacher")
