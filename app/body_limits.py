"""ASGI middleware bounding request bodies in bytes, in time, and all of them together.

Each body is held to its route's byte limit and to ``FACEVERIFY_BODY_TIMEOUT_S``; all bodies a
process holds at once, to ``FACEVERIFY_MAX_INFLIGHT_BODY_BYTES``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.error_handler import handle_error
from app.errors import ApiError, ImageTooLargeError, RequestTimeoutError, ServerBusyError
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


class BodyBudget:
    """Bytes of request bodies a process may hold at once, shared by every request.

    Reservations are taken and returned on the event loop thread, so no lock is needed.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity, self.in_use = capacity, 0

    def try_reserve(self, size: int) -> bool:
        """Reserve ``size`` bytes if they fit; returns whether they did."""
        if self.in_use + size > self.capacity:
            return False
        self.in_use += size
        return True

    def release(self, size: int) -> None:
        """Give back a reservation."""
        self.in_use -= size


class BodyLimitMiddleware:
    """Refuse bodies over the route's limit or slower than ``timeout_s``, never buffering more.

    A declared ``Content-Length`` over the limit is answered 413 before anything is read;
    otherwise the bytes received are counted and the read fails with ``ImageTooLargeError`` as
    soon as the count passes the limit (chunked uploads, lying headers). The whole body must
    arrive within ``timeout_s`` of the request's headers, or the read fails with
    ``RequestTimeoutError`` (408): a client trickling a byte a second is cut off.

    Bodies count against ``budget`` until their request is answered, so concurrent uploads
    cannot hold more memory than it, however many clients there are. A declared length is
    reserved before anything is read, and one that does not fit gets 503 ``server_busy`` with
    ``Retry-After`` at once; an undeclared (chunked) body reserves its bytes as they arrive and
    fails the same way when they stop fitting.

    Args:
        app: The wrapped application.
        limits: Body limit in bytes by path regex (matched in full, e.g. ``/people/[^/]+/faces``).
        default_limit: Limit of every other path.
        timeout_s: Time allowed for the whole body.
        budget_bytes: Body bytes all requests of the process may hold together.
    """

    def __init__(
        self,
        app: ASGIApp,
        limits: Mapping[str, int],
        default_limit: int,
        timeout_s: float,
        budget_bytes: int,
    ) -> None:
        self.app, self.default_limit = app, default_limit
        self.limits = [(re.compile(pattern), limit) for pattern, limit in limits.items()]
        self.timeout_s = timeout_s
        self.budget = BodyBudget(budget_bytes)

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
            await self._refuse(scope, receive, send, _too_large(limit))
            return
        reserved = declared or 0
        if not self.budget.try_reserve(reserved):
            await self._refuse(scope, receive, send, self._busy(reserved))
            return
        try:
            await self._guarded(scope, receive, send, limit, reserve_as_read=declared is None)
        finally:
            self.budget.release(reserved)

    async def _guarded(
        self, scope: Scope, receive: Receive, send: Send, limit: int, reserve_as_read: bool
    ) -> None:
        """Run the app with a receive that counts, times and (undeclared) reserves the body."""
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
                size = len(message.get("body", b""))
                if received + size > limit:
                    raise _too_large(limit)
                if reserve_as_read and not self.budget.try_reserve(size):
                    raise self._busy(received + size)
                received += size
                complete = not message.get("more_body", False)
            return message

        try:
            await self.app(scope, guarded_receive, send)
        finally:
            if reserve_as_read:
                self.budget.release(received)

    def _busy(self, size: int) -> ServerBusyError:
        return ServerBusyError(
            f"the server already holds its limit of request bodies ({self.budget.capacity} "
            f"bytes) and cannot take this one ({size} bytes so far or declared) now; retry shortly"
        )

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, error: ApiError) -> None:
        response = await handle_error(Request(scope), error)
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
