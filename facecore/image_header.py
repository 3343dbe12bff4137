"""Opening untrusted image bytes: the formats allowed, the size and shape checked from the header.

:func:`from_header` is the one place where a decode and its pricing (:mod:`facecore.decode`)
open an image and turn Pillow's failures into facecore's errors.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
from collections.abc import Callable
from typing import TypeVar

from PIL import (  # the plugins of ALLOWED_FORMATS, registered before the first open
    BmpImagePlugin,  # noqa: F401
    GifImagePlugin,  # noqa: F401
    Image,
    JpegImagePlugin,  # noqa: F401
    MpoImagePlugin,  # noqa: F401  (JPEG hands multi-picture files to it)
    PngImagePlugin,  # noqa: F401
    PpmImagePlugin,  # noqa: F401
    TiffImagePlugin,  # noqa: F401
    UnidentifiedImageError,
    WebPImagePlugin,  # noqa: F401
)

from facecore.errors import ImageTooLargeError, InvalidImageError, UnsupportedImageShapeError

# The documented formats (README); Pillow's other plugins (EPS runs Ghostscript) are never tried.
# Phones' multi-picture JPEGs (MPO) open through the JPEG plugin.
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF", "PPM")
_FORMAT_NAMES = "JPEG, PNG, WebP, BMP, GIF, TIFF, PGM/PPM"
_OBJECT_REPR = re.compile(r"<[^<>]* at 0x[0-9a-fA-F]+>")
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, struct.error, IndexError)
_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")  # in Pillow's DecompressionBombError message
T = TypeVar("T")


def from_header(
    data: bytes,
    max_bytes: int,
    max_pixels: int,
    max_aspect_ratio: float | None,
    min_side: int,
    read: Callable[[Image.Image], T],
) -> T:
    """Open ``data`` lazily, check its size and shape from the header, then ``read`` it.

    The one place where both the decode and its pricing turn Pillow's failures into
    facecore's errors; the image is closed (its buffers freed) however ``read`` ends.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        image = _open_checked(data, max_bytes, max_pixels)
        try:
            _check_shape(image.size, max_aspect_ratio, min_side)
            return read(image)
        except Image.DecompressionBombError as error:
            raise _too_many_pixels(error, max_pixels) from error
        except _DECODE_ERRORS as error:
            raise InvalidImageError(f"cannot decode image: {_describe(error)}") from error
        finally:
            image.close()
            del image  # its buffers (and a WebP decoder's canvases) go now


def _check_shape(size: tuple[int, int], max_aspect_ratio: float | None, min_side: int) -> None:
    """Refuse, from the header, shapes that cannot hold a face (and cost memory to pad)."""
    width, height = size
    if min(width, height) < min_side:
        raise UnsupportedImageShapeError(
            f"image is {width}x{height}; each side must be at least {min_side} pixels"
        )
    if max_aspect_ratio is not None and max(width, height) > max_aspect_ratio * min(width, height):
        raise UnsupportedImageShapeError(
            f"image is {width}x{height}; the longer side may be at most {max_aspect_ratio:g} "
            "times the shorter"
        )


def _describe(error: BaseException) -> str:
    """Return the decoder's message without object reprs (``<_io.BytesIO object at 0x..>``)."""
    return _OBJECT_REPR.sub("the upload", str(error)) or type(error).__name__


def _open_checked(data: bytes, max_bytes: int, max_pixels: int) -> Image.Image:
    """Open lazily (header only) and enforce the byte limit and the declared pixel limit."""
    if len(data) > max_bytes:
        raise ImageTooLargeError(f"image file is {len(data)} bytes; the limit is {max_bytes}")
    if not data:
        raise InvalidImageError("empty image data")
    try:
        image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except Image.DecompressionBombError as error:
        raise _too_many_pixels(error, max_pixels) from error
    except UnidentifiedImageError as error:
        raise InvalidImageError(
            f"not a recognised image; accepted formats: {_FORMAT_NAMES}"
        ) from error
    except _DECODE_ERRORS as error:
        raise InvalidImageError(f"not a recognised image: {_describe(error)}") from error
    width, height = image.size
    if width <= 0 or height <= 0:
        raise InvalidImageError(f"image declares an empty size {width}x{height}")
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"image is {width}x{height} = {width * height} pixels; the limit is {max_pixels}"
        )
    return image


def _too_many_pixels(error: Image.DecompressionBombError, max_pixels: int) -> ImageTooLargeError:
    """Pillow's refusal (its own limit, a frame's size) in terms of ``max_pixels``.

    Pillow refuses past 2 x ``Image.MAX_IMAGE_PIXELS`` before the size is known here; when that
    is under ``max_pixels``, it is the limit that applied.
    """
    limit = max_pixels
    if Image.MAX_IMAGE_PIXELS is not None:
        limit = min(limit, 2 * Image.MAX_IMAGE_PIXELS)
    found = _BOMB_PIXELS.search(str(error))
    size = f"image is {found[1]} pixels" if found else "image has too many pixels"
    return ImageTooLargeError(f"{size}; the limit is {limit}")
