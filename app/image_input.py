"""One uploaded image as the readers hand it to the service, and strict base64 decoding."""

from __future__ import annotations

import binascii
from base64 import b64decode
from dataclasses import dataclass

from app.errors import ApiError, InvalidImageError


@dataclass(frozen=True)
class ImageInput:
    """One uploaded image file's bytes (base64 is decoded by the JSON reader, off the loop).

    ``error`` is set when the upload was refused while streaming (over the byte limit, invalid
    base64): the image then fails alone, with that error.
    """

    data: bytes
    error: ApiError | None = None


_LINE_BREAKS = str.maketrans("", "", "\r\n")


def decode_base64(text: bytes | str) -> bytes:
    """Strict base64 (standard alphabet, optional ``data:...;base64,`` prefix).

    Line breaks are allowed (the ``base64`` tool wraps at 76 columns); anything else outside
    the alphabet is refused.
    """
    if isinstance(text, str) and text.startswith("data:") and "," in text:
        text = text.split(",", 1)[1]
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    try:
        return b64decode(text.translate(_LINE_BREAKS), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidImageError("the image is not valid base64") from exc
