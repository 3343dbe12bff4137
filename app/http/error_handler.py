"""The application's one exception handler: any exception -> ``ApiError`` -> JSON."""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.error_mapping import log_unexpected, to_api_error
from app.errors import ApiError, ClientDisconnectedError, MethodNotAllowedError, ServerBusyError
from facecore.errors import FaceCoreError

_CLOSE_AFTER = frozenset({408, 413, 499})  # the rest of the body may still be on its way


async def handle_error(request: Request, exc: Exception) -> JSONResponse:
    """Answer any error in the one JSON shape (the application's only exception handler)."""
    error = to_api_error(exc)
    if error.status >= 500 and not isinstance(exc, ApiError):
        log_unexpected(exc, f"on {request.method} {request.url.path}")
    elif isinstance(error, ClientDisconnectedError):
        logging.getLogger(__name__).info("client disconnected before its request was read")
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
