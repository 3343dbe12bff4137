"""The one path from an image to the model's input pixels, shared by training and serving."""

from __future__ import annotations

import cv2
import numpy as np


def to_model_input(crop_rgb: np.ndarray, size: int, channels: int) -> np.ndarray:
    """Turn an aligned RGB face crop into the model's input pixels.

    Training calls this on cached crops and the service on freshly aligned ones, so both
    feed the model identical pixels. Scaling to [-1, 1] happens inside the model graph.

    Args:
        crop_rgb: Aligned face, uint8 (H, W, 3) RGB, or (H, W) / (H, W, 1) grey.
        size: Side of the square model input in pixels.
        channels: 1 (grey, ITU-R BT.601 luma) or 3 (RGB).

    Returns:
        uint8 array of shape (size, size, channels).
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    image = np.asarray(crop_rgb, dtype=np.uint8)
    if image.ndim == 2:
        image = image[..., None]
    if image.shape[:2] != (size, size):
        shrinking = image.shape[0] > size or image.shape[1] > size
        interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        image = cv2.resize(image, (size, size), interpolation=interpolation)
        if image.ndim == 2:
            image = image[..., None]
    if channels == 1 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[..., None]
    elif channels == 3 and image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image)
