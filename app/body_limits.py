"""ASGI middleware bounding each request body in bytes (per route) and in time."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import ImageTooLargeError, RequestTimeoutError, handle_error
from app.settings import Settings


def body_limits(settings: Settings) -> dict[str, int]:
    """Body limit of each upload route (path regex), sized for the images it takes."""
    many, one = settings.max_body_bytes, settings.body_limit(1)
    return {
        "/verify": settings.body_limit(2),
        "/embed": many,
        "/people/[^/]+/faces": many,
        "/people/[^/]+/verify": one,
        "/identify": one,
    }


class BodyLimitMiddleware:
    """Refuse bodies over the route's limit or slower than ``timeout_s``, never buffering more.

    A declared ``Content-Length`` over the limit is answered 413 before anything is read;
    otherwise the bytes received are counted and the read fails with ``ImageTooLargeError`` as
    soon as the count passes the limit (chunked uploads, lying headers). The whole body must
    arrive within ``timeout_s`` of the request's headers, or the read fails with
    ``RequestTimeoutError`` (408): a client trickling a byte a second is cut off.

    Args:
        app: The wrapped application.
        limits: Body limit in bytes by path regex (matched in full, e.g. ``/people/[^/]+/faces``).
        default_limit: Limit of every other path.
        timeout_s: Time allowed for the whole body.
    """

    def __init__(
        self, app: ASGIApp, limits: Mapping[str, int], default_limit: int, timeout_s: float
    ) -> None:
        self.app, self.default_limit = app, default_limit
        self.limits = [(re.compile(pattern), limit) for pattern, limit in limits.items()]
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, then count and time the received bytes."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = next(
            (limit for pattern, limit in self.limits if pattern.fullmatch(scope["path"])),
            self.default_limit,
        )
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(scope, receive, send, limit)
            return
        deadline = asyncio.get_running_loop().time() + self.timeout_s
        received, complete = 0, False

        async def guarded_receive() -> Message:
            nonlocal received, complete
            if complete:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise RequestTimeoutError(
                    f"the request body did not arrive within {self.timeout_s:g} s"
                ) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if received > limit:
                    raise _too_large(limit)
            return message

        await self.app(scope, guarded_receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = await handle_error(Request(scope), _too_large(limit))
        await response(scope, receive, send)


def _too_large(limit: int) -> ImageTooLargeError:
    return ImageTooLargeError(f"the request body exceeds {limit} bytes")


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
