"""Every exception as the ``ApiError`` the client sees, and the log line of an unexpected one.

facecore's exceptions, FastAPI validation errors and Starlette HTTP errors are mapped into the
shape of :mod:`app.errors`; anything unknown becomes a 500 that leaks nothing.
"""

from __future__ import annotations

import logging

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from app import errors
from app.errors import ApiError
from facecore.errors import FaceCoreError

logger = logging.getLogger(__name__)

_FACECORE_ERRORS: dict[str, type[ApiError]] = {
    "invalid_image": errors.InvalidImageError,
    "image_too_large": errors.ImageTooLargeError,
    "no_face": errors.NoFaceError,
    "low_quality_face": errors.LowQualityFaceError,
    "multiple_faces": errors.MultipleFacesError,
    "unsupported_image_shape": errors.UnsupportedImageShapeError,
}
_HTTP_ERRORS: dict[int, type[ApiError]] = {
    400: errors.InvalidRequestError,
    401: errors.UnauthorizedError,
    404: errors.NotFoundError,
    405: errors.MethodNotAllowedError,
    408: errors.RequestTimeoutError,
    413: errors.ImageTooLargeError,
    415: errors.UnsupportedMediaTypeError,
    422: errors.ValidationFailedError,
    503: errors.ModelNotReadyError,
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
        return errors.ClientDisconnectedError()
    if isinstance(exc, FaceCoreError):
        return _FACECORE_ERRORS.get(exc.code, errors.InvalidImageError)(str(exc) or None)
    if isinstance(exc, RequestValidationError):
        return errors.ValidationFailedError(_describe_validation(exc))
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
