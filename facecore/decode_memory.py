"""Decoding's memory: its cost known from the header, and conversion to RGB band by band.

Pillow holds a decoded image at 1, 2 or 4 bytes a pixel (RGB takes 4); converting a whole
RGBA image to RGB took five more such buffers. Here the image is converted (and, when large,
reduced by an integer factor) a band of rows at a time into the result array.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from PIL import Image

MIB = 1024 * 1024
BAND_PIXELS = 1 << 19  # pixels converted at a time
_BAND_BYTES = 32 * BAND_PIXELS  # a band's crop and its conversions (RGBA: ~5 copies of 4 B)
_FIXED_BYTES = 8 * MIB  # decoder state, Python objects, allocator slack
_ONE_BYTE_MODES = frozenset({"1", "L", "P"})
_TWO_BYTE_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N"})
_WEBP_COPIES = 3  # libwebp's canvas and its copy of it, and the frame Pillow reads from


class DecodeMemory(Protocol):
    """Where a decode reserves its memory (the service's budget); optional."""

    def grow(self, size: int) -> None:
        """Reserve ``size`` bytes before any pixel is decoded (may raise to refuse)."""

    def shrink_to(self, size: int) -> None:
        """Keep only ``size`` bytes: the decode's buffers are freed, its result is held."""


@dataclass(frozen=True)
class DecodeCost:
    """Bytes a decode holds at its peak, and those of the RGB array it returns."""

    peak: int
    result: int


def pixel_bytes(mode: str) -> int:
    """Bytes Pillow stores per pixel of ``mode`` (multi-band 8-bit modes take 4)."""
    if mode in _ONE_BYTE_MODES:
        return 1
    return 2 if mode in _TWO_BYTE_MODES else 4


def reduce_factor(size: tuple[int, int], reduce_to: int | None) -> int:
    """Integer factor that keeps the longest side >= ``reduce_to`` (1: no reduction)."""
    longest = max(size)
    if reduce_to is None or longest < 2 * reduce_to:
        return 1
    return longest // reduce_to


def decode_cost(image: Image.Image, file_size: tuple[int, int], factor: int) -> DecodeCost:
    """Return what decoding the lazily opened ``image`` (after any draft) will hold.

    Args:
        image: Opened, not loaded; ``size`` and ``mode`` are what ``load()`` will produce.
        file_size: The size the file declares (a JPEG's coefficients are held at it).
        factor: Reduction applied while converting (:func:`reduce_factor`).
    """
    width, height = image.size
    decoded = width * height * pixel_bytes(image.mode)
    extra = 0
    if image.format == "WEBP":
        extra = _WEBP_COPIES * width * height * 4
    elif image.format == "TIFF":
        extra = _tiff_strip_bytes(image)
    elif image.format in ("JPEG", "MPO") and image.info.get("progressive"):
        extra = 2 * file_size[0] * file_size[1] * len(image.getbands())  # DCT coefficients
    result = math.ceil(width / factor) * math.ceil(height / factor) * 3
    return DecodeCost(decoded + extra + result + _BAND_BYTES + _FIXED_BYTES, result)


def convert_bands(image: Image.Image, factor: int, to_rgb: RgbConverter) -> np.ndarray:
    """Return the loaded ``image`` as RGB uint8, reduced by ``factor``, a band at a time.

    ``to_rgb`` converts one band (a cropped image of the same mode) to an RGB array; a 32-bit
    image's brightness is scaled by its peak over the whole image, passed as ``peak``.
    """
    width, height = image.size
    out = np.empty((math.ceil(height / factor), math.ceil(width / factor), 3), np.uint8)
    rows = max(factor, BAND_PIXELS // max(1, width) // factor * factor)
    peak = _peak(image)
    for top in range(0, height, rows):
        band = to_rgb(image.crop((0, top, width, min(height, top + rows))), peak)
        if factor > 1:
            band = np.asarray(Image.fromarray(band).reduce(factor))
        out[top // factor : top // factor + band.shape[0]] = band
    return out


class RgbConverter(Protocol):
    """Converts an image of any mode to an RGB uint8 array (``decode.to_rgb_array``)."""

    def __call__(self, image: Image.Image, peak: float | None = None) -> np.ndarray:
        """Return ``image`` as an (H, W, 3) uint8 array."""


def _tiff_strip_bytes(image: Image.Image) -> int:
    """Bytes of the largest block libtiff decodes at once: a strip, or a row of tiles."""
    tags = getattr(image, "tag_v2", {})
    width, height = image.size
    bits = sum(tags.get(258, (8,))) or 8  # BitsPerSample, summed over the samples
    if 322 in tags and 323 in tags:  # TileWidth, TileLength
        tile_width, rows = int(tags[322]), int(tags[323])
        width = math.ceil(width / max(1, tile_width)) * tile_width
    else:
        rows = int(tags.get(278, height))  # RowsPerStrip
    return width * min(max(1, rows), height) * bits // 8


def _peak(image: Image.Image) -> float | None:
    """Brightest value of a 32-bit integer image (its scale to 8 bits), else None."""
    if image.mode != "I":
        return None
    extrema = image.getextrema()
    return float(extrema[1]) if isinstance(extrema, tuple) else None
