"""Untrusted image bytes -> RGB uint8 pixels, with size limits checked before decoding."""

from __future__ import annotations

import io
import struct
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from facecore.errors import ImageTooLargeError, InvalidImageError

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
_SIXTEEN_BIT_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, struct.error, IndexError)


def decode_image(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, max_pixels: int = DEFAULT_MAX_PIXELS
) -> np.ndarray:
    """Decode image bytes into an upright RGB array.

    The byte size and the pixel count from the header are checked before any pixel is
    decoded. EXIF orientation is applied; animations give their first frame; palette,
    grey, 1-bit, 16-bit and CMYK images are converted; transparency is composited on white.

    Args:
        data: The encoded file (JPEG, PNG, GIF, WebP, BMP, TIFF, PGM, ...).
        max_bytes: Largest accepted file size.
        max_pixels: Largest accepted width x height.

    Returns:
        uint8 array (H, W, 3), RGB.

    Raises:
        ImageTooLargeError: The file or its declared dimensions exceed the limits.
        InvalidImageError: The bytes are empty, not an image, truncated or corrupt.
    """
    if len(data) > max_bytes:
        raise ImageTooLargeError(f"image file is {len(data)} bytes; the limit is {max_bytes}")
    if not data:
        raise InvalidImageError("empty image data")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        image = _open_checked(data, max_pixels)
        try:
            image.seek(0)
            image.load()
            upright = ImageOps.exif_transpose(image)
        except Image.DecompressionBombError as error:
            raise ImageTooLargeError(str(error)) from error
        except _DECODE_ERRORS as error:
            raise InvalidImageError(f"cannot decode image: {error}") from error
    return to_rgb_array(upright)


def _open_checked(data: bytes, max_pixels: int) -> Image.Image:
    """Open lazily (header only) and enforce the pixel limit on the declared size."""
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as error:
        raise ImageTooLargeError(str(error)) from error
    except (UnidentifiedImageError, *_DECODE_ERRORS) as error:
        raise InvalidImageError(f"not a recognised image: {error}") from error
    width, height = image.size
    if width <= 0 or height <= 0:
        raise InvalidImageError(f"image declares an empty size {width}x{height}")
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"image is {width}x{height} = {width * height} pixels; the limit is {max_pixels}")
    return image


def to_rgb_array(image: Image.Image) -> np.ndarray:
    """Convert a decoded PIL image of any mode to an RGB uint8 array.

    Args:
        image: A loaded PIL image.

    Returns:
        uint8 array (H, W, 3).
    """
    if image.mode in _SIXTEEN_BIT_MODES or image.mode == "F":
        image = Image.fromarray(_to_eight_bit(np.asarray(image)), mode="L")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or _has_transparency(image):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))


def _has_transparency(image: Image.Image) -> bool:
    """Whether a palette or grey image carries a transparent colour."""
    return image.mode in ("P", "L", "RGB") and "transparency" in image.info


def _to_eight_bit(values: np.ndarray) -> np.ndarray:
    """Map 16-bit (or 32-bit int / float) grey values to 0..255."""
    if values.dtype.kind == "f":
        return np.clip(np.rint(values), 0, 255).astype(np.uint8)
    return np.clip(np.rint(values.astype(np.float64) / 257.0), 0, 255).astype(np.uint8)
