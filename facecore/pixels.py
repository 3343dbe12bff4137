"""Decoded Pillow images of any mode -> RGB uint8 arrays (:mod:`facecore.decode`)."""

from __future__ import annotations

import numpy as np
from PIL import Image

_SIXTEEN_BIT_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})


def to_rgb_array(image: Image.Image, peak: float | None = None) -> np.ndarray:
    """Convert a decoded PIL image of any mode to an RGB uint8 array.

    Args:
        image: A loaded PIL image.
        peak: A 32-bit integer image's brightest value (default: this image's own).

    Returns:
        uint8 array (H, W, 3).
    """
    if image.mode in _SIXTEEN_BIT_MODES or image.mode == "F":
        image = Image.fromarray(_to_eight_bit(np.asarray(image), peak), mode="L")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or _has_transparency(image):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    if image.mode != "RGB":  # an RGB image is read once, without a converted copy
        image = image.convert("RGB")
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))


def _has_transparency(image: Image.Image) -> bool:
    """Whether a palette or grey image carries a transparent colour."""
    return image.mode in ("P", "L", "RGB") and "transparency" in image.info


def _to_eight_bit(values: np.ndarray, peak: float | None = None) -> np.ndarray:
    """Map 16-bit, 32-bit integer or float grey values to 0..255.

    16-bit data is divided by 257 (65535 -> 255). A 32-bit integer image (mode ``I``) may
    hold 8-bit, 16-bit or wider values: its peak decides the divisor (none up to 255, 257 up
    to 65535, else peak/255), so an 8-bit-valued TIFF is not darkened to black.
    """
    if values.dtype.kind == "f":
        return np.clip(np.rint(values), 0, 255).astype(np.uint8)
    divisor = 257.0
    if values.dtype.itemsize > 2:
        peak = float(values.max(initial=0)) if peak is None else peak
        divisor = 1.0 if peak <= 255 else 257.0 if peak <= 65535 else peak / 255.0
    return np.clip(np.rint(values.astype(np.float64) / divisor), 0, 255).astype(np.uint8)
