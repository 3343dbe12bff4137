"""Untrusted image bytes -> RGB uint8 pixels, with size limits checked before decoding."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from facecore.decode_memory import (
    DecodeCost,
    DecodeMemory,
    convert_bands,
    decode_cost,
    reduce_factor,
)
from facecore.image_header import from_header
from facecore.pixels import to_rgb_array

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
_ORIENTATION = 0x0112


def decode_image(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_aspect_ratio: float | None = None,
    min_side: int = 1,
) -> np.ndarray:
    """Decode image bytes into an upright RGB array (see :func:`decode_image_reduced`)."""
    return decode_image_reduced(
        data,
        max_bytes=max_bytes,
        max_pixels=max_pixels,
        max_aspect_ratio=max_aspect_ratio,
        min_side=min_side,
    ).rgb


@dataclass(frozen=True, eq=False)  # holds an array: compare by identity
class DecodedImage:
    """Decoded pixels and their scale: decoded pixels per pixel of the file (1.0 = full size)."""

    rgb: np.ndarray
    scale: float


def decode_image_reduced(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_aspect_ratio: float | None = None,
    min_side: int = 1,
    reduce_to: int | None = None,
    memory: DecodeMemory | None = None,
) -> DecodedImage:
    """Decode image bytes into an upright RGB array, a large JPEG at a reduced size.

    The byte size and the pixel count from the header are checked before any pixel is
    decoded; pixels are converted a band at a time, so a decode holds Pillow's buffer and the
    result only. EXIF orientation is applied; animations give their first frame; palette,
    grey, 1-bit, 16-bit and CMYK images are converted; transparency is composited on white.

    Args:
        data: The encoded file (JPEG, PNG, GIF, WebP, BMP, TIFF, PGM, ...).
        max_bytes: Largest accepted file size.
        max_pixels: Largest accepted width x height.
        max_aspect_ratio: Largest accepted longest/shortest side; None = any.
        min_side: Shortest accepted side in pixels.
        reduce_to: An image whose longest side is at least twice this is returned reduced,
            its longest side staying >= ``reduce_to``: a JPEG decoded at 1/2, 1/4 or 1/8 of
            its size (libjpeg's DCT scaling), other formats reduced by an integer factor
            (box average) while converted. ``None``: full size.
        memory: Reserves the decode's peak memory (:func:`decode_memory.decode_cost`, from
            the header) before any pixel is decoded, then keeps only the result's bytes.

    Returns:
        uint8 array (H, W, 3), RGB, and its scale relative to the file's pixels.

    Raises:
        ImageTooLargeError: The file or its declared dimensions exceed the limits.
        UnsupportedImageShapeError: The declared size is too elongated or a side too short.
        InvalidImageError: The bytes are empty, not an image, truncated or corrupt.
    """
    read = functools.partial(_decode_pixels, reduce_to=reduce_to, memory=memory)
    rgb, scale, orientation = from_header(
        data, max_bytes, max_pixels, max_aspect_ratio, min_side, read
    )
    rgb = _upright(rgb, orientation)
    if memory is not None:
        memory.shrink_to(rgb.nbytes)
    return DecodedImage(rgb, scale)


def decode_peak(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_aspect_ratio: float | None = None,
    min_side: int = 1,
    reduce_to: int | None = None,
) -> int:
    """Bytes :func:`decode_image_reduced` will reserve (``memory.grow``) for ``data``.

    Read from the header only (no pixel is decoded), with the same limits and the same
    pricing as the decode, so a caller can reserve the decode's memory before handing it to a
    worker. Raises what the decode would raise before its first pixel.
    """

    def peak(image: Image.Image) -> int:
        return _price(image, reduce_to)[1].peak

    return from_header(data, max_bytes, max_pixels, max_aspect_ratio, min_side, peak)


def _decode_pixels(
    image: Image.Image, reduce_to: int | None, memory: DecodeMemory | None
) -> tuple[np.ndarray, float, object]:
    """Reserve the decode's peak, decode in bands; the RGB pixels, their scale, orientation."""
    file_size = image.size
    factor, cost = _price(image, reduce_to)
    if memory is not None:
        memory.grow(cost.peak)  # before any pixel is decoded; may refuse
    image.load()
    rgb = convert_bands(image, factor, to_rgb_array)
    return rgb, rgb.shape[1] / file_size[0], image.getexif().get(_ORIENTATION, 1)


def _price(image: Image.Image, reduce_to: int | None) -> tuple[int, DecodeCost]:
    """Seek the opened image to its first frame, draft it; its reduction factor and cost."""
    file_size = image.size
    image.seek(0)
    _draft(image, reduce_to)
    factor = reduce_factor(image.size, reduce_to)
    return factor, decode_cost(image, file_size, factor)


def _draft(image: Image.Image, reduce_to: int | None) -> None:
    """Ask the JPEG decoder for a smaller size when ``reduce_to`` allows (1/2..1/8)."""
    width, height = image.size
    if reduce_to is None or image.format != "JPEG" or max(width, height) < 2 * reduce_to:
        return
    factor = reduce_to / max(width, height)
    image.draft("RGB", (max(1, math.ceil(width * factor)), max(1, math.ceil(height * factor))))


def _upright(rgb: np.ndarray, orientation: object) -> np.ndarray:
    """Apply an EXIF orientation (as ``ImageOps.exif_transpose``) to decoded pixels."""
    turned = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
        8: lambda a: np.rot90(a, 1),
    }.get(orientation if isinstance(orientation, int) else 1)
    return rgb if turned is None else np.ascontiguousarray(turned(rgb))


__all__ = [
    "DecodedImage",
    "decode_image",
    "decode_image_reduced",
    "decode_peak",
    "to_rgb_array",
]
