"""Training-time augmentation, applied in the tf.data pipeline (never inside the model)."""

from __future__ import annotations

import math

import keras
import tensorflow as tf

PIXEL_RANGE = (0.0, 255.0)
ERASED_AREA = (0.02, 0.25)  # share of the image one erased rectangle covers


def build_augmenter(
    seed: int,
    shift: float = 0.05,
    zoom: float = 0.1,
    brightness: float = 0.1,
    contrast: float = 0.1,
    erase: float = 0.0,
) -> keras.Sequential:
    """Random flip, small shift and scale, brightness and contrast on 0..255 batches.

    With ``erase`` > 0, that share of the images also gets one random rectangle (2-25% of
    the area) filled with dark noise: random erasing (Zhong et al., "Random Erasing Data
    Augmentation", AAAI 2020), so that no single part of a face decides its embedding.

    Args:
        seed: Seed of the random layers.
        shift: Largest translation as a fraction of the side.
        zoom: Largest zoom in or out as a fraction of the side.
        brightness: Largest brightness change as a fraction of the value range.
        contrast: Largest contrast factor change.
        erase: Share of the images with a rectangle erased, 0..1.

    Returns:
        A model mapping float (batch, H, W, C) in 0..255 to the same shape and range.
    """
    layers = [
        keras.layers.RandomFlip("horizontal", seed=seed),
        keras.layers.RandomTranslation(shift, shift, fill_mode="reflect", seed=seed + 1),
        keras.layers.RandomZoom(zoom, zoom, fill_mode="reflect", seed=seed + 2),
        keras.layers.RandomBrightness(brightness, value_range=PIXEL_RANGE, seed=seed + 3),
        keras.layers.RandomContrast(contrast, value_range=PIXEL_RANGE, seed=seed + 4),
    ]
    if erase > 0:
        # A (p, p) factor applies with probability p; a bare float would draw p per image.
        layers.append(
            keras.layers.RandomErasing(
                (erase, erase), scale=ERASED_AREA, value_range=PIXEL_RANGE, seed=seed + 5
            )
        )
    return keras.Sequential(layers, name="augment")


def degrade_like_clients(
    image,
    grey: float = 0.2,
    jpeg: float = 0.3,
    rescale: float = 0.25,
    rotate_degrees: float = 10.0,
    colour: float = 0.5,
):
    """Degrade one float image (H, W, C, 0..255) the way clients degrade photos.

    Each transform fires independently with its probability:

    - ``grey``: greyscale copy (three equal channels for RGB models);
    - ``jpeg``: JPEG re-compression at a quality drawn from 30..95;
    - ``rescale``: down to half or quarter resolution (area), back up (bilinear);
    - a rotation drawn from +-``rotate_degrees`` (always, reflect-padded);
    - ``colour``: saturation and hue jitter (RGB only).

    Returns:
        The altered image, same shape, float32 in 0..255.
    """

    def maybe(probability, transform, x):
        return tf.cond(tf.random.uniform([]) < probability, lambda: transform(x), lambda: x)

    image = tf.convert_to_tensor(image, tf.float32)
    rgb = image.shape[-1] == 3
    if rgb:
        image = maybe(colour, _jitter_colour, image)
        image = maybe(
            grey, lambda x: tf.image.grayscale_to_rgb(tf.image.rgb_to_grayscale(x)), image
        )
    image = maybe(jpeg, _recompress, image)
    image = maybe(rescale, _down_up, image)
    image = _rotate(image, rotate_degrees)
    return tf.clip_by_value(image, *PIXEL_RANGE)


def _jitter_colour(image):
    unit = image / 255.0
    unit = tf.image.random_saturation(unit, 0.6, 1.4)
    unit = tf.image.random_hue(unit, 0.04)
    return tf.clip_by_value(unit, 0.0, 1.0) * 255.0


def _recompress(image):
    quality = tf.random.uniform([], 30, 96, dtype=tf.int32)
    unit = tf.image.adjust_jpeg_quality(tf.clip_by_value(image / 255.0, 0.0, 1.0), quality)
    return tf.reshape(unit * 255.0, tf.shape(image))


def _down_up(image):
    size = tf.shape(image)[:2]
    factor = tf.where(tf.random.uniform([]) < 0.5, 2, 4)
    small = tf.image.resize(image, size // factor, method="area")
    return tf.image.resize(small, size, method="bilinear")


def _rotate(image, degrees: float):

    angle = tf.random.uniform([], -degrees, degrees) * (math.pi / 180.0)
    cos, sin = tf.cos(angle), tf.sin(angle)
    height = tf.cast(tf.shape(image)[0], tf.float32)
    width = tf.cast(tf.shape(image)[1], tf.float32)
    cx, cy = (width - 1) / 2, (height - 1) / 2
    # Output-to-input map of a rotation about the centre, as ImageProjectiveTransformV3 takes it.
    transform = tf.stack(
        [cos, -sin, cx - cos * cx + sin * cy, sin, cos, cy - sin * cx - cos * cy, 0.0, 0.0]
    )
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=image[None],
        transforms=transform[None],
        output_shape=tf.shape(image)[:2],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="REFLECT",
    )[0]
