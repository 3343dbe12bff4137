"""The named training recipes (``train --preset``), each a :class:`TrainConfig`."""

from __future__ import annotations

import dataclasses
from typing import Any

from training.config import TrainConfig

# The shipped 1.0.0 recipe: aligned 112x112 RGB crops, identity-disjoint hold-out.
_DEFAULT = TrainConfig(
    preset="default",
    input_size=112,
    channels=3,
    stage1_stride=2,
    epochs=20,
    batch_size=64,
    learning_rate=1e-3,
    schedule="cosine",
    warmup_epochs=1.0,
    split="identity",
    validation_fraction=0.1,
    holdout_fraction=0.15,
    seed=0,
    patience=6,
)

# The original run: whole ORL images resized to 224x224 grey, closed-set 80/20 split.
_ORIGINAL = TrainConfig(
    preset="original",
    input_size=224,
    channels=1,
    stage1_stride=2,
    epochs=60,
    batch_size=64,
    learning_rate=1e-3,
    schedule="constant",
    warmup_epochs=0.0,
    split="per_image",
    validation_fraction=0.2,
    holdout_fraction=0.0,
    patience=20,
)

PRESETS: dict[str, TrainConfig] = {
    "original": _ORIGINAL,
    "default": _DEFAULT,
    # Model 2.0.0: the default recipe plus the dlib teacher (both distillation terms), the
    # unlabelled faces, and augmentations for what clients send.
    "teacher": dataclasses.replace(
        _DEFAULT,
        preset="teacher",
        validation_fraction=0.05,
        patience=0,
        client_augment=True,
        distill="both",
    ),
    # Seconds-long run for tests: the original layout on tiny images.
    "smoke": dataclasses.replace(
        _ORIGINAL,
        preset="smoke",
        input_size=32,
        epochs=2,
        batch_size=8,
        steps_per_epoch=2,
        validation_fraction=0.34,
        patience=0,
    ),
}


def get_preset(name: str, **overrides: Any) -> TrainConfig:
    """Return the named preset with ``overrides`` applied (None values are ignored).

    Raises:
        KeyError: Unknown preset name.
    """
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
    changes = {key: value for key, value in overrides.items() if value is not None}
    return dataclasses.replace(PRESETS[name], **changes)
