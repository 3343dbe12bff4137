"""ASGI middleware bounding request bodies in bytes, in time, and all of them together.

Each body is held to its route's byte limit and to ``FACEVERIFY_BODY_TIMEOUT_S``; the bytes
received count against the process's memory budget (``FACEVERIFY_MEMORY_BUDGET_BYTES``). A body
whose declared length (or, without one, its route's limit) is over the budget's small-holder
threshold counts as large from its first byte, so it never takes the small holders' lane
(:mod:`app.inference.memory_budget`).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import ApiError, ImageTooLargeError, InvalidRequestError, RequestTimeoutError
from app.http.error_handler import handle_error
from app.inference.memory_budget import SMALL_HOLDER_BYTES, MemoryBudget, Reservation
from app.settings import Settings

BODY_RESERVATION = "faceverify.body_reservation"  # scope key of the body's Reservation


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
    ``RequestTimeoutError`` (408): a client trickling a byte a second is cut off. A request
    with both ``Content-Length`` and ``Transfer-Encoding`` is refused (400, RFC 9112 6.3):
    its length is ambiguous.

    Body bytes are reserved from ``budget`` as they arrive (a declared length reserves
    nothing: a client that announces a large body and sends nothing holds nothing), and held
    until the request is answered; a chunk that finds no room within the budget's wait fails
    the read with 503 ``server_busy``. The reservation is in the scope under
    :data:`BODY_RESERVATION`, for the reader to shrink once the body is parsed.

    Args:
        app: The wrapped application.
        limits: Body limit in bytes by path regex (matched in full, e.g. ``/people/[^/]+/faces``).
        default_limit: Limit of every other path.
        timeout_s: Time allowed for the whole body.
        budget: The process's memory budget.
    """

    def __init__(
        self,
        app: ASGIApp,
        limits: Mapping[str, int],
        default_limit: int,
        timeout_s: float,
        budget: MemoryBudget,
    ) -> None:
        self.app, self.default_limit = app, default_limit
        self.limits = [(re.compile(pattern), limit) for pattern, limit in limits.items()]
        self.timeout_s = timeout_s
        self.budget = budget

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the framing and the declared length, then count, time and reserve the body."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = next(
            (limit for pattern, limit in self.limits if pattern.fullmatch(scope["path"])),
            self.default_limit,
        )
        declared = _content_length(scope)
        if declared is not None and _header(scope, b"transfer-encoding") is not None:
            await self._refuse(scope, receive, send, _ambiguous_length())
            return
        if declared is not None and declared > limit:
            await self._refuse(scope, receive, send, _too_large(limit))
            return
        announced = limit if declared is None else declared  # large from its first byte?
        reservation = Reservation(self.budget, large=announced > SMALL_HOLDER_BYTES)
        scope[BODY_RESERVATION] = reservation
        try:
            await self._guarded(scope, receive, send, limit, reservation)
        finally:
            reservation.release()

    async def _guarded(
        self, scope: Scope, receive: Receive, send: Send, limit: int, reservation: Reservation
    ) -> None:
        """Run the app with a receive that counts, times and reserves the body."""
        deadline = asyncio.get_running_loop().time() + self.timeout_s
        received, complete = 0, False

        async def guarded_receive() -> Message:
            nonlocal received, complete
            if complete:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
                    if message["type"] == "http.request":
                        size = len(message.get("body", b""))
                        if received + size > limit:
                            raise _too_large(limit)
                        await reservation.grow_async(size)
            except TimeoutError:
                raise RequestTimeoutError(
                    f"the request body did not arrive within {self.timeout_s:g} s"
                ) from None
            if message["type"] == "http.request":
                received += size
                complete = not message.get("more_body", False)
            return message

        await self.app(scope, guarded_receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, error: ApiError) -> None:
        response = await handle_error(Request(scope), error)
        response.headers["connection"] = "close"  # the body is neither read nor framed
        await response(scope, receive, send)


def _ambiguous_length() -> InvalidRequestError:
    return InvalidRequestError(
        "the request has both Content-Length and Transfer-Encoding; send one (RFC 9112 6.3)"
    )


def _too_large(limit: int) -> ImageTooLargeError:
    return ImageTooLargeError(f"the request body exceeds {limit} bytes")


def _content_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value
    return None
