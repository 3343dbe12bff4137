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
    base64): the image then fails alone, with that error. ``request_bytes``: the bytes of all
    the images of its request, which the request holds in the memory budget while this one
    is decoded (a decode may reserve the rest).
    """

    data: bytes
    error: ApiError | None = None
    request_bytes: int = 0


_LINE_BREAKS = str.maketrans("", "", "\r\n")
_URL_SAFE = str.maketrans("-_", "+/")


def decode_base64(text: bytes | str) -> bytes:
    """Strict base64 (RFC 4648), optionally with a ``data:...;base64,`` prefix.

    Either alphabet is taken, standard (``+/``) or URL-safe (``-_``), but not both in one
    image; the ``=`` padding is optional, and when given must be right. Line breaks are allowed
    (the ``base64`` tool wraps at 76 columns); anything else outside the alphabet is refused.
    """
    if isinstance(text, str) and text.startswith("data:") and "," in text:
        text = text.split(",", 1)[1]
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    text = text.translate(_LINE_BREAKS)
    if ("-" in text or "_" in text) and ("+" in text or "/" in text):
        raise InvalidImageError(
            "the image is not valid base64: it mixes the standard (+/) and URL-safe (-_) alphabets"
        )
    if not text.endswith("="):
        text += "=" * (-len(text) % 4)
    try:
        return b64decode(text.translate(_URL_SAFE), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidImageError(f"the image is not valid base64: {_reason(exc)}") from exc


def _reason(exc: Exception) -> str:
    """Return the decoder's reason, e.g. "incorrect padding" (binascii quotes no input)."""
    reason = str(exc).strip().rstrip(".") or "malformed"
    return reason[:1].lower() + reason[1:]
