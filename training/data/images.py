"""Image file -> model pixels, without TensorFlow (training data, evaluation, pairs files)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facecore.decode import decode_image
from facecore.preprocess import to_model_input


def load_image(path: Path | str, size: int, channels: int) -> np.ndarray:
    """Read one image file and return its model pixels.

    Decoding is the service's own (``facecore.decode``: EXIF orientation, palette, 16-bit and
    CMYK handling), followed by the shared ``to_model_input``.

    Args:
        path: An image file: a prepared crop, or a raw tight face crop.
        size: Model input side.
        channels: Model input channels (1 or 3).

    Returns:
        uint8 array (size, size, channels).
    """
    return to_model_input(decode_image(Path(path).read_bytes()), size, channels)
