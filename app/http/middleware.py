"""ASGI middleware: request context and security headers, the error boundary, JSON CORS.

Body limits live in :mod:`app.http.body_limits`.

Order, outermost first: ``RequestContextMiddleware`` -> ``JsonCORSMiddleware`` ->
``ErrorBoundaryMiddleware`` -> ``BodyLimitMiddleware`` -> routes, so that every response,
500s and 413s included, gets the request id, the security headers and the CORS headers.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.error_mapping import log_unexpected
from app.errors import HeadersTooLargeError, InvalidRequestError, ModelNotReadyError
from app.http.body_limits import BodyLimitMiddleware, body_limits
from app.http.error_handler import handle_error
from app.inference.memory_budget import MemoryBudget
from app.logging_setup import access_logger, request_id_var
from app.prometheus import Metrics
from app.settings import Settings

OTHER_ROUTES_BODY_BYTES = 64 * 1024  # GET routes take no body
REQUEST_ID_HEADER = b"x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Responses carry embeddings: no caching anywhere, no content sniffing.
SECURITY_HEADERS = ((b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"))
# Metric labels: made-up methods would each add series, without bound (issue 41).
STANDARD_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)


class RequestContextMiddleware:
    """Give each request an id (``X-Request-ID`` in and out), log and count it."""

    def __init__(self, app: ASGIApp, metrics: Metrics, max_header_bytes: int) -> None:
        self.app, self.metrics, self.max_header_bytes = app, metrics, max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Wrap one HTTP request; other scopes pass through."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started, status = time.perf_counter(), 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                replaced = {REQUEST_ID_HEADER, *(name for name, _ in SECURITY_HEADERS)}
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() not in replaced
                ]
                message = {
                    **message,
                    "headers": [
                        *headers,
                        *SECURITY_HEADERS,
                        (REQUEST_ID_HEADER, request_id.encode()),
                    ],
                }
            await send(message)

        try:
            if _header_bytes(scope) > self.max_header_bytes:
                await _headers_too_large(self.max_header_bytes)(scope, receive, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope, status, time.perf_counter() - started)
            request_id_var.reset(token)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", "unmatched")  # a route template: bounded
        method = scope["method"]
        self.metrics.requests.labels(method_label(method), route, str(status)).inc()
        self.metrics.latency.labels(method_label(method), route).observe(seconds)
        path, ms = scope["path"], seconds * 1000
        extra = {"method": method, "path": path, "status": status, "duration_ms": round(ms, 2)}
        access_logger.info("%s %s %d %.1fms", method, path, status, ms, extra=extra)


def method_label(method: str) -> str:
    """Label a method for metrics: a standard one as is, any other token as ``other``."""
    return method if method in STANDARD_METHODS else "other"


def _header_bytes(scope: Scope) -> int:
    """Size of the request line and headers as received (near enough: +4 per header line)."""
    target = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
    return target + sum(len(key) + len(value) + 4 for key, value in scope.get("headers", []))


def _headers_too_large(limit: int) -> Response:
    error = HeadersTooLargeError(f"the request line and headers exceed {limit} bytes")
    return JSONResponse(error.body(), error.status, {"Connection": "close"})


def _incoming_request_id(scope: Scope) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == REQUEST_ID_HEADER:
            text = value.decode("latin-1")
            return text if _VALID_REQUEST_ID.match(text) else None
    return None


class ErrorBoundaryMiddleware:
    """Answer whatever escapes the routes in the error shape, inside CORS and the request id.

    An unexpected exception is logged once (with the request id) and answered 500; a request
    cancelled by the server's shutdown is answered 503 ``model_not_ready``. Either is
    answered only if no response has started.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request; turn a stray exception or a cancellation into a JSON answer."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except asyncio.CancelledError:
            if not started:
                error = ModelNotReadyError("the server shut down before the request finished")
                await JSONResponse(error.body(), error.status, {"Connection": "close"})(
                    scope, receive, send
                )
            raise
        except Exception as exc:
            if started:
                log_unexpected(exc, "after the response started")
                raise
            response = await handle_error(Request(scope), exc)
            await response(scope, receive, send)


class JsonCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, with a refused preflight answered in the error shape."""

    def preflight_response(self, request_headers: Headers) -> Response:
        """Starlette's preflight answer; a refusal becomes ``400 invalid_request`` JSON."""
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        error = InvalidRequestError(f"CORS preflight refused: {response.body.decode()}")
        headers = {
            k: v
            for k, v in response.headers.items()
            if k.lower() not in ("content-type", "content-length")
        }
        return JSONResponse(error.body(), error.status, headers)


def install_middleware(
    app: FastAPI, settings: Settings, metrics: Metrics, budget: MemoryBudget
) -> None:
    """Innermost first: body limits, error boundary, CORS, request context (see middleware)."""
    app.add_middleware(
        BodyLimitMiddleware,
        limits=body_limits(settings),
        default_limit=OTHER_ROUTES_BODY_BYTES,
        timeout_s=settings.body_timeout_s,
        budget=budget,
    )
    app.add_middleware(ErrorBoundaryMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            JsonCORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID"],
        )
    app.add_middleware(
        RequestContextMiddleware, metrics=metrics, max_header_bytes=settings.max_header_bytes
    )
