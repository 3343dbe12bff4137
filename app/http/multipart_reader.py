"""Streaming multipart/form-data: parts kept in bounded memory, limits checked while they arrive.

python-multipart's push parser calls back for every header and every slice of part data.
Each file part is held in memory up to the per-image limit (beyond it the rest is dropped and
the image carries an ``image_too_large`` error); nothing is spooled to disk. Too many images,
an oversized text field, a duplicate field, a field the route does not take (or a file where
it takes text, or text where it takes a file) or a body without its closing boundary stop the
request with a specific error: a misspelt option is refused, never silently ignored, and the
text fields are bounded by the route's few option names. A preamble before the first boundary
and an epilogue after the last (RFC 2046) are skipped; python-multipart takes neither.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, parse_options_header

from app.errors import (
    ImageTooLargeError,
    InvalidRequestError,
    TooManyImagesError,
    ValidationFailedError,
)
from app.inference.image_input import ImageInput

MAX_FIELD_BYTES = 1024
MAX_PART_HEADER_BYTES = 8 * 1024
MAX_PREAMBLE_BYTES = 64 * 1024
PARSER_EVENTS = (
    "on_part_begin",
    "on_header_field",
    "on_header_value",
    "on_header_end",
    "on_headers_finished",
    "on_part_data",
    "on_part_end",
    "on_end",
)


@dataclass(frozen=True)
class MultipartLimits:
    """What one multipart body may hold."""

    max_images: int
    max_image_bytes: int


@dataclass(frozen=True)
class FormFields:
    """The field names a route takes: image files and text options."""

    images: tuple[str, ...]
    options: tuple[str, ...]

    def check(self, name: str, is_file: bool) -> None:
        """Raise ValidationFailedError unless ``name`` is a field of this kind."""
        shown = name[:64]
        if name in self.images and not is_file:
            raise ValidationFailedError(f"body.{shown}: must be a file upload, not a text field")
        if name in self.options and is_file:
            raise ValidationFailedError(f"body.{shown}: must be a text field, not a file upload")
        if name not in self.images and name not in self.options:
            raise ValidationFailedError(f"body.{shown}: {self.unknown_field()}")

    def unknown_field(self) -> str:
        """Return the message for a field the route does not take."""
        return "unknown field; the fields are " + ", ".join((*self.images, *self.options))


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    header_bytes: int = 0
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0
    too_large: bool = False


class MultipartCollector:
    """Collects file parts as images and the other parts as text fields."""

    def __init__(self, boundary: bytes, limits: MultipartLimits, fields: FormFields) -> None:
        self.limits, self.form_fields = limits, fields
        self.images: dict[str, list[ImageInput]] = {}
        self.fields: dict[str, str] = {}
        self.complete = False
        self._files = 0
        self._part = _Part()
        self._header_field, self._header_value = bytearray(), bytearray()
        self._delimiter = b"\r\n--" + boundary
        self._in_preamble, self._preamble = True, bytearray()  # before the first boundary
        self._parser = MultipartParser(boundary, callbacks=self._weak_callbacks())

    def _weak_callbacks(self) -> dict[str, Callable[..., None]]:
        """Return the parser's callbacks (``_on_part_data`` for ``on_part_data``, ...).

        They hold ``self`` weakly: bound methods would make a cycle (collector -> parser ->
        collector) that keeps a refused body's parts alive until the next full garbage
        collection (issue 41: eight refused 126 MiB uploads kept RSS 185 MB up).
        """
        collector = weakref.ref(self)

        def callback(event: str) -> Callable[..., None]:
            return lambda *args: getattr(collector(), f"_{event}")(*args)

        return {event: callback(event) for event in PARSER_EVENTS}

    def feed(self, block: bytes) -> None:
        """Parse one block of the body (blocking: call it in a worker thread)."""
        if self.complete:
            return  # the epilogue after the closing boundary is ignored, as RFC 2046 says
        if self._in_preamble:
            block = self._skip_preamble(block)
        try:
            self._parser.write(block)
        except ValueError as exc:  # python-multipart's MultipartParseError is a ValueError
            raise InvalidRequestError(f"malformed multipart body: {exc}") from None

    def _skip_preamble(self, block: bytes) -> bytes:
        """Drop what precedes the first boundary line; return the body from it (or nothing yet)."""
        self._preamble += block
        start = (b"\r\n" + self._preamble).find(self._delimiter)  # a boundary starts a line
        if start == -1 and len(self._preamble) <= MAX_PREAMBLE_BYTES:
            return b""  # the first boundary is still to come
        if start == -1 or start > MAX_PREAMBLE_BYTES:
            raise InvalidRequestError(
                f"malformed multipart body: no boundary in its first {MAX_PREAMBLE_BYTES} bytes"
            )
        body = bytes(self._preamble[start:])
        self._in_preamble, self._preamble = False, bytearray()
        return body

    def finish(self) -> None:
        """Check that the complete body ended with the closing boundary."""
        if not self.complete:
            raise InvalidRequestError(
                "malformed multipart body: it ends before the closing boundary"
            )

    def _on_part_begin(self) -> None:
        self._part = _Part()

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self._header_field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self._header_value += data[start:end]

    def _count_header(self, size: int) -> None:
        self._part.header_bytes += size
        if self._part.header_bytes > MAX_PART_HEADER_BYTES:
            raise InvalidRequestError(
                f"malformed multipart body: part headers over {MAX_PART_HEADER_BYTES} bytes"
            )

    def _on_header_end(self) -> None:
        if bytes(self._header_field).strip().lower() == b"content-disposition":
            _, options = parse_options_header(bytes(self._header_value))
            self._part.name = options.get(b"name", b"").decode("utf-8", "replace")
            filename = options.get(b"filename")
            self._part.filename = None if filename is None else filename.decode("utf-8", "replace")
        self._header_field.clear()
        self._header_value.clear()

    def _on_headers_finished(self) -> None:
        part = self._part
        if not part.name:
            raise InvalidRequestError("malformed multipart body: a part has no field name")
        self.form_fields.check(part.name, is_file=part.filename is not None)
        if part.filename is not None:
            self._files += 1
            if self._files > self.limits.max_images:
                raise TooManyImagesError(f"at most {self.limits.max_images} images per request")

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self._part
        if part.too_large:
            return
        part.size += end - start
        if part.filename is None and part.size > MAX_FIELD_BYTES:
            raise InvalidRequestError(
                f"field {part.name[:64]!r} is longer than {MAX_FIELD_BYTES} bytes"
            )
        if part.size > self.limits.max_image_bytes:
            part.too_large, part.chunks = True, []
            return
        part.chunks.append(data[start:end])

    def _on_part_end(self) -> None:
        part = self._part
        if part.filename is None:
            self._add_field(part.name, b"".join(part.chunks).decode("utf-8", "replace"))
            return
        if part.too_large:
            error = ImageTooLargeError(
                f"image file exceeds the limit of {self.limits.max_image_bytes} bytes"
            )
            image = ImageInput(b"", error=error)
        else:
            image = ImageInput(b"".join(part.chunks))
        self.images.setdefault(part.name, []).append(image)
        self._part = _Part()

    def _add_field(self, name: str, value: str) -> None:
        if name in self.fields:
            raise ValidationFailedError(f"body.{name[:64]}: given more than once")
        self.fields[name] = value

    def _on_end(self) -> None:
        self.complete = True
