"""Training-time augmentation, applied in the tf.data pipeline (never inside the model)."""

from __future__ import annotations

import keras

PIXEL_RANGE = (0.0, 255.0)


def build_augmenter(seed: int, shift: float = 0.05, zoom: float = 0.1,
                    brightness: float = 0.1, contrast: float = 0.1) -> keras.Sequential:
    """Random flip, small shift and scale, brightness and contrast on 0..255 batches.

    Args:
        seed: Seed of the random layers.
        shift: Largest translation as a fraction of the side.
        zoom: Largest zoom in or out as a fraction of the side.
        brightness: Largest brightness change as a fraction of the value range.
        contrast: Largest contrast factor change.

    Returns:
        A model mapping float (batch, H, W, C) in 0..255 to the same shape and range.
    """
    return keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal", seed=seed),
            keras.layers.RandomTranslation(shift, shift, fill_mode="reflect", seed=seed + 1),
            keras.layers.RandomZoom(zoom, zoom, fill_mode="reflect", seed=seed + 2),
            keras.layers.RandomBrightness(brightness, value_range=PIXEL_RANGE, seed=seed + 3),
            keras.layers.RandomContrast(contrast, value_range=PIXEL_RANGE, seed=seed + 4),
        ],
        name="augment",
    )
