"""Reading image uploads from multipart/form-data or JSON (base64) bodies.

The body is streamed in blocks of at most ``BLOCK_BYTES`` and parsed in a worker thread as it
arrives (:mod:`app.http.multipart_reader`, :mod:`app.http.json_reader`), so the event loop never
parses, counts and sizes are refused as soon as they are exceeded, and nothing is written to disk.
The route's byte limit and the body deadline are enforced underneath, by
:class:`app.http.middleware.BodyLimitMiddleware`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from python_multipart.multipart import parse_options_header
from starlette.concurrency import run_in_threadpool

from app.errors import InvalidRequestError, UnsupportedMediaTypeError
from app.http.body_limits import BODY_RESERVATION
from app.http.json_reader import JsonCollector, JsonLimits
from app.http.multipart_reader import FormFields, MultipartCollector, MultipartLimits
from app.inference.image_input import ImageInput
from app.inference.memory_budget import Reservation

BLOCK_BYTES = 1024 * 1024
OptionsT = TypeVar("OptionsT", bound=BaseModel)


@dataclass(frozen=True)
class Upload:
    """Images by field name, in upload order, and the other (non-file) fields."""

    images: dict[str, list[ImageInput]]
    fields: dict[str, Any]

    def options(self, schema: type[OptionsT]) -> OptionsT:
        """Validate the non-file fields given with ``schema`` (form text is parsed, as "0.5").

        Raises:
            RequestValidationError: A field is invalid, located in the body.
        """
        given = {
            name: value
            for name, value in self.fields.items()
            if value is not None and name in schema.model_fields
        }
        try:
            return schema.model_validate(given)
        except ValidationError as exc:
            raise RequestValidationError(_with_body_prefix(exc)) from None


class _Collector(Protocol):
    def feed(self, block: bytes) -> None: ...

    def finish(self) -> None: ...


async def read_upload(
    request: Request, image_fields: tuple[str, ...], json_model: type[BaseModel], max_images: int
) -> Upload:
    """Parse the body as multipart/form-data or as JSON with base64 images.

    Args:
        request: The incoming request.
        image_fields: Names of the image fields; each must hold at least one image.
        json_model: Schema a JSON body must follow (validated strictly: no coercion); its
            fields are also the only ones a multipart body may hold.
        max_images: Most images accepted in the request.

    An image file over ``FACEVERIFY_MAX_IMAGE_BYTES`` is not buffered further; it fails alone
    with ``image_too_large``.

    Raises:
        UnsupportedMediaTypeError: Neither multipart nor JSON.
        InvalidRequestError: Malformed multipart or JSON.
        RequestValidationError: A field is missing or invalid.
        TooManyImagesError: More than ``max_images`` images.
    """
    max_image_bytes = request.app.state.settings.max_image_bytes
    media_type, options = parse_options_header(request.headers.get("content-type", ""))
    content_type = media_type.decode("latin-1").strip().lower()
    fields = FormFields(
        image_fields, tuple(name for name in json_model.model_fields if name not in image_fields)
    )
    if content_type == "multipart/form-data":
        limits = MultipartLimits(max_images, max_image_bytes)
        upload = await _read_multipart(request, options, limits, fields)
    elif content_type == "application/json" or content_type.endswith("+json"):
        limits = JsonLimits(
            image_fields,
            max_images,
            _base64_chars(max_image_bytes),
            request.app.state.settings.max_token_chars,
        )
        upload = await _read_json(request, json_model, limits, fields)
    else:
        raise UnsupportedMediaTypeError(
            f"content type {content_type or '(none)'!r} is not supported; "
            "send multipart/form-data or application/json"
        )
    _require(upload, image_fields)
    return _holding_images_only(request, upload)


def _holding_images_only(request: Request, upload: Upload) -> Upload:
    """Shrink the parsed body's reservation to its images' bytes, noted in each image.

    Each image carries the total as ``request_bytes``: its decode may reserve the rest.
    """
    held = sum(len(image.data) for images in upload.images.values() for image in images)
    body = request.scope.get(BODY_RESERVATION)
    if body is not None:
        body.shrink_to(held)
    images = {
        name: [replace(image, request_bytes=held) for image in images]
        for name, images in upload.images.items()
    }
    return Upload(images, upload.fields)


async def _consume(request: Request, collector: _Collector) -> None:
    """Feed the body to ``collector`` in blocks, each parsed in a worker thread."""
    buffer = bytearray()
    async for chunk in request.stream():
        buffer += chunk
        if len(buffer) >= BLOCK_BYTES:
            block = bytes(buffer)
            buffer.clear()
            await run_in_threadpool(collector.feed, block)
    await run_in_threadpool(collector.feed, bytes(buffer))
    collector.finish()


async def _read_multipart(
    request: Request, options: dict[bytes, bytes], limits: MultipartLimits, fields: FormFields
) -> Upload:
    boundary = options.get(b"boundary")
    if not boundary:
        raise InvalidRequestError("malformed multipart body: the content type has no boundary")
    collector = MultipartCollector(boundary, limits, fields)
    await _consume(request, collector)
    return Upload(collector.images, dict(collector.fields))


async def _read_json(
    request: Request, json_model: type[BaseModel], limits: JsonLimits, fields: FormFields
) -> Upload:
    allowance = Reservation(request.app.state.memory_budget)
    collector = JsonCollector(limits, allowance)
    try:
        await _consume(request, collector)
    finally:
        allowance.release()
    try:
        body = json_model.model_validate(collector.payload, strict=True).model_dump()
    except ValidationError as exc:
        raise RequestValidationError(_with_body_prefix(exc, fields)) from None
    for name in limits.image_fields:
        body.pop(name, None)
    return Upload(collector.images, body)


def _base64_chars(max_bytes: int) -> int:
    """Longest base64 text of a ``max_bytes`` file, with line breaks every 64 characters."""
    encoded = (max_bytes + 2) // 3 * 4
    return encoded + 2 * (encoded // 64 + 1) + 256  # CRLF per line, a data: URL prefix


def _require(upload: Upload, image_fields: tuple[str, ...]) -> None:
    """Every image field must hold a file."""
    errors = [
        {"loc": ("body", name), "msg": "field required", "type": "missing"}
        for name in image_fields
        if not upload.images.get(name)
    ]
    if errors:
        raise RequestValidationError(errors)


def _with_body_prefix(
    exc: ValidationError, fields: FormFields | None = None
) -> list[dict[str, Any]]:
    """Locate the schema's errors in the body; an unknown key's message names ``fields``."""
    return [
        {
            "loc": ("body", *error["loc"]),
            "msg": fields.unknown_field()
            if fields is not None and error["type"] == "extra_forbidden"
            else error["msg"],
            "type": error["type"],
        }
        for error in exc.errors()
    ]
