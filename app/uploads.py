"""Reading image uploads from multipart/form-data or JSON (base64) bodies."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from app.errors import InvalidRequestError, TooManyImagesError, UnsupportedMediaTypeError
from app.service import ImageInput

_MAX_FORM_FIELDS = 16
_MAX_FIELD_BYTES = 64 * 1024


@dataclass(frozen=True)
class Upload:
    """Images by field name, in upload order, and the other (non-file) fields."""

    images: dict[str, list[ImageInput]]
    fields: dict[str, Any]


async def read_upload(request: Request, image_fields: tuple[str, ...],
                      json_model: type[BaseModel], max_images: int) -> Upload:
    """Parse the body as multipart/form-data or as JSON with base64 images.

    Args:
        request: The incoming request.
        image_fields: Names of the image fields; each must hold at least one image.
        json_model: Schema a JSON body must follow.
        max_images: Most images accepted in the request.

    Raises:
        UnsupportedMediaTypeError: Neither multipart nor JSON.
        InvalidRequestError: Malformed multipart or JSON.
        RequestValidationError: A field is missing or invalid.
        TooManyImagesError: More than ``max_images`` images.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        upload = await _read_multipart(request, max_images)
    elif content_type == "application/json" or content_type.endswith("+json"):
        upload = await _read_json(request, image_fields, json_model)
    else:
        raise UnsupportedMediaTypeError(
            f"content type {content_type or '(none)'!r} is not supported; "
            "send multipart/form-data or application/json")
    _require(upload, image_fields)
    if sum(len(upload.images.get(name, ())) for name in image_fields) > max_images:
        raise TooManyImagesError(f"at most {max_images} images per request")
    return upload


async def _read_multipart(request: Request, max_images: int) -> Upload:
    parser = MultiPartParser(request.headers, request.stream(), max_files=max_images,
                             max_fields=_MAX_FORM_FIELDS, max_part_size=_MAX_FIELD_BYTES)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        if exc.message.startswith("Too many files"):
            raise TooManyImagesError(f"at most {max_images} images per request") from exc
        raise InvalidRequestError(f"malformed multipart body: {exc.message}") from exc
    try:
        images: dict[str, list[ImageInput]] = {}
        fields: dict[str, Any] = {}
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                images.setdefault(name, []).append(ImageInput(await value.read()))
            else:
                fields.setdefault(name, value)
        return Upload(images, fields)
    finally:
        await form.close()


async def _read_json(request: Request, image_fields: tuple[str, ...],
                     json_model: type[BaseModel]) -> Upload:
    try:
        payload = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidRequestError(f"the body is not valid JSON: {exc}") from exc
    try:
        body = json_model.model_validate(payload).model_dump()
    except ValidationError as exc:
        raise RequestValidationError(_with_body_prefix(exc)) from exc
    images = {}
    for name in image_fields:
        value = body.pop(name)
        texts = value if isinstance(value, list) else [value]
        images[name] = [ImageInput(text, base64=True) for text in texts]
    return Upload(images, body)


def _require(upload: Upload, image_fields: tuple[str, ...]) -> None:
    """Every image field must hold a file (a plain text value does not count)."""
    errors = []
    for name in image_fields:
        if upload.images.get(name):
            continue
        message = ("must be a file upload, not a text field" if name in upload.fields
                   else "field required")
        errors.append({"loc": ("body", name), "msg": message, "type": "missing"})
    if errors:
        raise RequestValidationError(errors)


def _with_body_prefix(exc: ValidationError) -> list[dict[str, Any]]:
    return [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
