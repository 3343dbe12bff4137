"""Every exception as the ``ApiError`` the client sees, and the log line of an unexpected one.

facecore's exceptions, FastAPI validation errors and Starlette HTTP errors are mapped into the
shape of :mod:`app.errors`; anything unknown becomes a 500 that leaks nothing.
"""

from __future__ import annotations

import logging

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from app.errors import (
    ApiError,
    ClientDisconnectedError,
    ImageTooLargeError,
    InvalidImageError,
    InvalidRequestError,
    LowQualityFaceError,
    MethodNotAllowedError,
    ModelNotReadyError,
    MultipleFacesError,
    NoFaceError,
    NotFoundError,
    RequestTimeoutError,
    UnauthorizedError,
    UnsupportedImageShapeError,
    UnsupportedMediaTypeError,
    ValidationFailedError,
)
from facecore.errors import FaceCoreError

logger = logging.getLogger(__name__)

_FACECORE_ERRORS: dict[str, type[ApiError]] = {
    "invalid_image": InvalidImageError,
    "image_too_large": ImageTooLargeError,
    "no_face": NoFaceError,
    "low_quality_face": LowQualityFaceError,
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
        location = error.get("loc", ())
        message = error.get("msg", "invalid")
        if error.get("type") == "extra_forbidden" and location[:1] == ("query",):
            message = "unknown query parameter; this route's parameters are in /docs"
        parts.append(f"{'.'.join(str(item) for item in location)}: {message}")
    return "; ".join(parts) or "The request is invalid."


def log_unexpected(exc: BaseException, where: str) -> None:
    """Log an exception that no ApiError describes, with its traceback (never image data)."""
    logger.error("unexpected error %s: %s", where, type(exc).__name__, exc_info=exc)
