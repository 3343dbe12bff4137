"""Streaming JSON bodies: images and fields collected while the bytes arrive, limits checked early.

The body is fed to ijson's push parser (yajl, in C) block by block in a worker thread, so the
event loop never parses. The request schemas are flat (an object of strings, numbers and
arrays of strings), so anything nested deeper, too many keys, too many images or a
too-long field stops the parse at once: a 60 MB array of tiny strings costs one array item
more than the limit, not 60 MB of Python objects. A string (or number) is refused as soon as
it runs past the longest image's base64, before the parser has buffered it whole; while one
is long, twice its length (the parser's text and the decoded image) is reserved from the
memory budget until the body is parsed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import ijson

from app.errors import (
    ImageTooLargeError,
    InvalidImageError,
    InvalidRequestError,
    TooManyImagesError,
    ValidationFailedError,
)
from app.inference.image_input import ImageInput, decode_base64
from app.inference.memory_budget import Reservation

MAX_DEPTH = 2  # {"images": [...]}: an object holding arrays of scalars
MAX_KEYS = 16
MAX_FIELD_CHARS = 1024
_SCALARS = frozenset({"string", "number", "boolean", "null"})
# Events are checked after each slice of at most this size, which bounds the event list (and a
# nesting attack's cost); a slice that ends inside a long string (no event) is followed by the
# rest of the block in one piece, as feeding a long string in small slices is quadratic.
_FEED_BYTES = 16 * 1024


@dataclass(frozen=True)
class JsonLimits:
    """What one JSON body may hold."""

    image_fields: tuple[str, ...]
    max_images: int
    max_image_chars: int
    max_token_chars: int


@dataclass
class JsonCollector:
    """Turns ijson's basic events into images and plain fields, enforcing ``limits``.

    ``payload`` mirrors the body with every image string replaced by ``""``, so the request
    schema can validate it without copying the images.
    """

    limits: JsonLimits
    allowance: Reservation | None = None
    images: dict[str, list[ImageInput]] = field(default_factory=dict)
    payload: dict[str, Any] = field(default_factory=dict)
    _events: Any = field(default_factory=ijson.sendable_list)
    _parser: Any = None
    _depth: int = 0
    _key: str | None = None
    _image_count: int = 0
    _small_steps: bool = True
    _token: int = 0  # bytes fed since the last event: the token being parsed, about

    def __post_init__(self) -> None:
        self._parser = ijson.basic_parse_coro(self._events, use_float=True)

    def feed(self, block: bytes) -> None:
        """Parse one block of the body (blocking: call it in a worker thread)."""
        start = 0
        while start < len(block):
            size = _FEED_BYTES if self._small_steps else len(block) - start
            piece = block[start : start + size]
            self._count_token(piece)
            self._small_steps = self._send(piece) > 0
            if self._small_steps:
                self._token = 0
            start += size

    def _count_token(self, piece: bytes) -> None:
        """Refuse a token past the longest image's base64; reserve what parsing it costs."""
        if piece.isspace():
            return
        self._token += len(piece.strip())
        if self._token > self.limits.max_token_chars:
            raise ImageTooLargeError(
                f"a JSON string or number in the body runs past {self.limits.max_token_chars} "
                f"characters (a base64 image may have {self.limits.max_image_chars}); the body "
                "was not read further"
            )
        if self.allowance is not None and self._token > _FEED_BYTES:
            self.allowance.grow(2 * self._token - self.allowance.held)

    def finish(self) -> None:
        """Check that the complete body was exactly one JSON value."""
        try:
            self._parser.close()
        except ijson.JSONError as exc:
            raise InvalidRequestError(f"the body is not valid JSON: {_first_line(exc)}") from None
        self._drain()

    def _send(self, data: bytes) -> int:
        """Parse ``data``; the number of events it completed."""
        try:
            self._parser.send(data)
        except (ijson.JSONError, ValueError) as exc:
            raise InvalidRequestError(f"the body is not valid JSON: {_first_line(exc)}") from None
        return self._drain()

    def _drain(self) -> int:
        count = len(self._events)
        for event, value in self._events:
            self._on_event(event, value)
        del self._events[:]
        return count

    def _on_event(self, event: str, value: Any) -> None:
        if event in ("start_map", "start_array"):
            self._open(event)
        elif event in ("end_map", "end_array"):
            self._depth -= 1
        elif event == "map_key":
            self._on_key(value)
        elif self._depth == 0:  # a bare scalar body: the schema will refuse it
            self.payload = {"": value}
        else:
            self._on_scalar(event, value)

    def _open(self, event: str) -> None:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise InvalidRequestError(f"JSON nested deeper than {MAX_DEPTH} levels")
        if self._depth == 1 and event == "start_array":
            raise InvalidRequestError("the JSON body must be an object")
        if self._depth == 2:
            if event == "start_map":
                raise InvalidRequestError("JSON objects may not be nested")
            self.payload[self._key] = []

    def _on_key(self, key: str) -> None:
        if key in self.payload:
            raise ValidationFailedError(f"body.{key[:64]}: given more than once")
        if len(self.payload) >= MAX_KEYS:
            raise InvalidRequestError(f"more than {MAX_KEYS} keys in the JSON body")
        self._key = key
        self.payload[key] = None

    def _on_scalar(self, event: str, value: Any) -> None:
        key = self._key
        in_array = self._depth == 2
        if event == "string" and key in self.limits.image_fields:
            value = self._take_image(key, value)
        elif event == "string" and len(value) > MAX_FIELD_CHARS:
            raise InvalidRequestError(f"field {key!r} is longer than {MAX_FIELD_CHARS} characters")
        if in_array:
            if len(self.payload[key]) >= max(self.limits.max_images, MAX_KEYS):
                raise TooManyImagesError(f"at most {self.limits.max_images} images per request")
            self.payload[key].append(value)
        else:
            self.payload[key] = value

    def _take_image(self, key: str, text: str) -> str:
        self._image_count += 1
        if self._image_count > self.limits.max_images:
            raise TooManyImagesError(f"at most {self.limits.max_images} images per request")
        if len(text) > self.limits.max_image_chars:
            error = ImageTooLargeError(
                f"base64 image is {len(text)} characters; the limit is "
                f"{self.limits.max_image_chars}"
            )
            image = ImageInput(b"", error=error)
        else:  # decoded here, in the parsing thread: 3/4 of the memory, the text is dropped
            try:
                image = ImageInput(decode_base64(text))
            except InvalidImageError as error:
                image = ImageInput(b"", error=error)
        self.images.setdefault(key, []).append(image)
        return ""


def _first_line(exc: Exception) -> str:
    """Return the parser's message without the body excerpt it quotes."""
    text = exc.args[0] if exc.args else str(exc)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return str(text).strip().splitlines()[0][:200] if str(text).strip() else "malformed"
