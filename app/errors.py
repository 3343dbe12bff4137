"""Every error the API can answer with: one exception family, one handler, one JSON shape.

Each error answers ``{"error": {"code": ..., "message": ...}}`` with its HTTP status.
facecore's exceptions, FastAPI validation errors and Starlette HTTP errors are mapped into
the same shape by :func:`handle_error`, the single exception handler of the application.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from facecore.errors import FaceCoreError

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """Base of every domain error; subclasses fix ``code`` and ``status``."""

    code = "internal_error"
    status = 500
    default_message = "Internal server error."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

    def body(self) -> dict[str, dict[str, str]]:
        """Return the JSON body of this error."""
        return {"error": {"code": self.code, "message": self.message}}


class InvalidImageError(ApiError):
    """The bytes are not a decodable image, or not valid base64."""

    code, status, default_message = "invalid_image", 400, "The image could not be decoded."


class InvalidRequestError(ApiError):
    """The body is malformed (broken multipart, invalid JSON)."""

    code, status, default_message = "invalid_request", 400, "The request body is malformed."


class UnauthorizedError(ApiError):
    """Missing or wrong API key."""

    code, status, default_message = "unauthorized", 401, "A valid X-API-Key header is required."


class NotFoundError(ApiError):
    """No such route."""

    code, status, default_message = "not_found", 404, "Not found."


class MethodNotAllowedError(ApiError):
    """The route exists but not for this method."""

    code, status, default_message = "method_not_allowed", 405, "Method not allowed."


class RequestTimeoutError(ApiError):
    """The client did not send its request (headers or body) in time."""

    code, status, default_message = "request_timeout", 408, "The request took too long to send."


class ImageTooLargeError(ApiError):
    """An image or the whole body exceeds the configured byte or pixel limits."""

    code, status, default_message = "image_too_large", 413, "The upload is too large."


class HeadersTooLargeError(ApiError):
    """The request line and headers exceed ``FACEVERIFY_MAX_HEADER_BYTES``."""

    code, status = "headers_too_large", 431
    default_message = "The request headers are too large."


class UnsupportedMediaTypeError(ApiError):
    """The body is neither multipart/form-data nor application/json."""

    code, status = "unsupported_media_type", 415
    default_message = "Send multipart/form-data or application/json."


class ValidationFailedError(ApiError):
    """A field is missing or out of range."""

    code, status, default_message = "validation_error", 422, "The request is invalid."


class UnknownOperatingPointError(ApiError):
    """``far`` names no operating point the model was calibrated for."""

    code, status = "unknown_operating_point", 422
    default_message = "The model has no operating point for this far."


class NoFaceError(ApiError):
    """No face found and the no-face policy forbids a fallback."""

    code, status, default_message = "no_face", 422, "No face was found in the image."


class MultipleFacesError(ApiError):
    """Several faces found and the face policy rejects such images."""

    code, status, default_message = "multiple_faces", 422, "Several faces were found."


class TooManyImagesError(ApiError):
    """More images in one request than allowed."""

    code, status, default_message = "too_many_images", 422, "Too many images in one request."


class PersonNotFoundError(ApiError):
    """No enrolled person has this id."""

    code, status, default_message = "person_not_found", 404, "No such person."


class FaceNotFoundError(ApiError):
    """The person has no template with this face id."""

    code, status, default_message = "face_not_found", 404, "No such face."


class PersonExistsError(ApiError):
    """A person with this id is already enrolled."""

    code, status, default_message = "person_exists", 409, "A person with this id exists."


class NoTemplatesError(ApiError):
    """The person has no template made by the served model (nothing to compare with)."""

    code, status = "no_templates", 422
    default_message = "The person has no templates of the served model; enrol photos first."


class UnsupportedImageShapeError(ApiError):
    """The image is too elongated or has a side too short to hold a face."""

    code, status = "unsupported_image_shape", 422
    default_message = "The image's shape cannot hold a face."


class ClientDisconnectedError(ApiError):
    """The client closed the connection before its request was read (nginx's 499)."""

    code, status, default_message = "client_disconnected", 499, "The client went away."


class ModelNotReadyError(ApiError):
    """The model is not loaded and warmed up yet, or the service is shutting down."""

    code, status, default_message = "model_not_ready", 503, "The model is not ready."


_FACECORE_ERRORS: dict[str, type[ApiError]] = {
    "invalid_image": InvalidImageError,
    "image_too_large": ImageTooLargeError,
    "no_face": NoFaceError,
    "multiple_faces": MultipleFacesError,
    "unsupported_image_shape": UnsupportedImageShapeError,
}
_HTTP_ERRORS: dict[int, type[ApiError]] = {
    400: InvalidRequestError,
    401: UnauthorizedError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    408: RequestTimeoutError,
    413: ImageTooLargeError,
    415: UnsupportedMediaTypeError,
    422: ValidationFailedError,
    503: ModelNotReadyError,
}


def to_api_error(exc: Exception) -> ApiError:
    """Translate any exception into the ApiError the client will see.

    Args:
        exc: An ApiError, a facecore error, a validation error, an HTTP error or anything else.

    Returns:
        The ApiError to answer with; unknown exceptions become a generic 500 that leaks nothing.
    """
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ClientDisconnect):
        return ClientDisconnectedError()
    if isinstance(exc, FaceCoreError):
        return _FACECORE_ERRORS.get(exc.code, InvalidImageError)(str(exc) or None)
    if isinstance(exc, RequestValidationError):
        return ValidationFailedError(_describe_validation(exc))
    if isinstance(exc, StarletteHTTPException):
        error_type = _HTTP_ERRORS.get(exc.status_code)
        if error_type is None:
            error = ApiError(str(exc.detail))
            error.status, error.code = exc.status_code, "http_error"
            return error
        return error_type(str(exc.detail) if exc.detail else None)
    return ApiError()


def _describe_validation(exc: RequestValidationError) -> str:
    """One readable line per failed field, e.g. ``body.threshold: must be <= 1``."""
    parts = []
    for error in exc.errors():
        location = ".".join(str(item) for item in error.get("loc", ()))
        parts.append(f"{location}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "The request is invalid."


_CLOSE_AFTER = frozenset({408, 413, 499})  # the rest of the body may still be on its way


def log_unexpected(exc: BaseException, where: str) -> None:
    """Log an exception that no ApiError describes, with its traceback (never image data)."""
    logger.error("unexpected error %s: %s", where, type(exc).__name__, exc_info=exc)


async def handle_error(request: Request, exc: Exception) -> JSONResponse:
    """Answer any error in the one JSON shape (the application's only exception handler)."""
    error = to_api_error(exc)
    if error.status >= 500 and not isinstance(exc, ApiError):
        log_unexpected(exc, f"on {request.method} {request.url.path}")
    elif isinstance(error, ClientDisconnectedError):
        logger.info("client disconnected before its request was read")
    headers = {"WWW-Authenticate": "ApiKey"} if error.status == 401 else {}
    if error.status in _CLOSE_AFTER:
        headers["Connection"] = "close"
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


def install_error_handler(app: FastAPI) -> None:
    """Route every handled exception type of ``app`` to :func:`handle_error`."""
    for exc_type in (
        ApiError,
        FaceCoreError,
        RequestValidationError,
        StarletteHTTPException,
        Exception,
    ):
        app.add_exception_handler(exc_type, handle_error)
