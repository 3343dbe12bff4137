"""The application's one exception handler: any exception -> an ``ApiError`` -> JSON.

facecore's exceptions, FastAPI validation errors and Starlette HTTP errors are mapped into the
shape of :mod:`app.errors`; anything unknown becomes a 500 that leaks nothing.
"""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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
    ServerBusyError,
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
    if isinstance(error, MethodNotAllowedError):  # RFC 9110: a 405 names what is allowed
        headers["Allow"] = allowed_methods(request.app, request.url.path)
    if error.retry_after_s is not None:
        headers["Retry-After"] = str(error.retry_after_s)
    if error.status in _CLOSE_AFTER or isinstance(error, ServerBusyError):
        headers["Connection"] = "close"  # its body was not read (ServerBusyError) or not all
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


def allowed_methods(app: FastAPI, path: str) -> str:
    """Every documented method on ``path`` (HEAD with GET), e.g. ``DELETE, GET, HEAD, PATCH``.

    Starlette's own 405 names the methods of the first route on the path only.
    """
    methods = {
        method.upper()
        for template, operations in app.openapi()["paths"].items()
        if re.fullmatch(re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)), path)
        for method in operations
    }
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


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
