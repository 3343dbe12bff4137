"""The uvicorn server of ``python -m app``: HTTP limits and timeouts, and a drain on SIGTERM.

- ``GuardedH11Protocol``: uvicorn's h11 protocol with a deadline for the request headers
  (408 then close: a client trickling a header byte a second is cut off), a cap on their size
  (``h11_max_incomplete_event_size``), and its plain-text 400 answered in the error shape.
- ``DrainingServer``: on the first SIGTERM, ``/ready`` answers 503 for ``drain_s`` seconds
  while requests are still served, so a load balancer stops sending new ones; then uvicorn's
  graceful shutdown closes the listener and lets in-flight requests finish (up to
  ``graceful_timeout_s``). A second SIGTERM, or SIGINT, skips the rest of the drain.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import socket
import time
from collections.abc import Callable
from http import HTTPStatus
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from app.errors import ApiError, HeadersTooLargeError, InvalidRequestError, RequestTimeoutError
from app.http.middleware import SECURITY_HEADERS
from app.settings import Settings

logger = logging.getLogger(__name__)


class GuardedH11Protocol(H11Protocol):
    """h11 with a header deadline and JSON errors; ``header_timeout_s`` is set per server."""

    header_timeout_s = 10.0
    max_header_bytes = 64 * 1024
    _header_timer: asyncio.TimerHandle | None = None
    _waiting_cycle: Any = None
    _waiting_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the header deadline of the first request."""
        super().connection_made(transport)
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        """Drop the deadline with the connection."""
        self._cancel_header_timer()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        """Stop the deadline once a request's headers are complete."""
        super().handle_events()
        if self.cycle is not self._waiting_cycle:
            self._cancel_header_timer()

    def on_response_complete(self) -> None:
        """Start the next request's header deadline on a kept-alive connection."""
        finished = self.cycle
        super().on_response_complete()
        if not self.transport.is_closing() and self.cycle is finished:
            self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        """Count the bytes of headers still incomplete (h11 refuses past its buffer cap)."""
        if self._header_timer is not None:
            self._waiting_bytes += len(data)
        super().data_received(data)

    def send_400_response(self, msg: str) -> None:
        """Answer an unparsable request in the error shape (uvicorn's is plain text)."""
        if self._waiting_bytes > self.max_header_bytes:
            error: ApiError = HeadersTooLargeError(
                f"the request line and headers exceed {self.max_header_bytes} bytes"
            )
        else:
            error = InvalidRequestError("invalid HTTP request")
        self._send_error_and_close(error)

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._waiting_cycle, self._waiting_bytes = self.cycle, 0
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._header_timeout)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or self.cycle is not self._waiting_cycle:
            return
        self._send_error_and_close(
            RequestTimeoutError(
                f"the request headers did not arrive within {self.header_timeout_s:g} s"
            )
        )

    def _send_error_and_close(self, error: ApiError) -> None:
        """Write a complete JSON error response on the raw transport and close it."""
        body = json.dumps(error.body()).encode()
        head = [
            f"HTTP/1.1 {error.status} {HTTPStatus(error.status).phrase}",
            "content-type: application/json",
            f"content-length: {len(body)}",
            "connection: close",
            *(f"{name.decode()}: {value.decode()}" for name, value in SECURITY_HEADERS),
        ]
        self.transport.write("\r\n".join(head).encode() + b"\r\n\r\n" + body)
        self.transport.close()


class DrainingServer(uvicorn.Server):
    """uvicorn's server with a drain window between SIGTERM and the graceful shutdown."""

    def __init__(
        self, config: uvicorn.Config, drain_s: float, on_drain: Callable[[], None]
    ) -> None:
        super().__init__(config)
        self.drain_s, self.on_drain = drain_s, on_drain
        self._drain_deadline: float | None = None
        self._drain_logged = False

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start as uvicorn does, then log the address to open (uvicorn logs none for ours)."""
        await super().startup(sockets)
        if self.started:
            host, port = self.config.host, self.config.port
            logger.info("open http://%s:%d/ in a browser (the API docs at /docs)", host, port)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """First SIGTERM: start draining; anything else: uvicorn's behaviour."""
        if (
            sig == signal.SIGTERM
            and self.drain_s > 0
            and self._drain_deadline is None
            and not self.should_exit
        ):
            self._captured_signals.append(sig)  # re-raised after shutdown, as uvicorn does
            self._drain_deadline = time.monotonic() + self.drain_s
            self.on_drain()
            return
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        """End the drain window when due (ticks every 0.1 s)."""
        if self._drain_deadline is not None:
            if not self._drain_logged:
                self._drain_logged = True
                logger.info(
                    "SIGTERM: draining for %g s (/ready answers 503), then shutting down",
                    self.drain_s,
                )
            if time.monotonic() >= self._drain_deadline:
                self.should_exit = True
        return await super().on_tick(counter)


class ListenError(RuntimeError):
    """The configured address cannot be listened on; the message says which setting to change."""


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind the listening socket before anything loads, so a clash is reported first.

    Raises:
        ListenError: Address in use, not available, or not permitted.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ListenError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another port with "
            "FACEVERIFY_PORT (or address with FACEVERIFY_HOST)"
        ) from None
    sock.set_inheritable(True)
    return sock


def build_server(app: Any, settings: Settings, on_drain: Callable[[], None]) -> DrainingServer:
    """Build the server of ``app`` with the settings' limits and timeouts."""
    protocol = type(
        "GuardedH11Protocol",
        (GuardedH11Protocol,),
        {
            "header_timeout_s": settings.header_timeout_s,
            "max_header_bytes": settings.max_header_bytes,
        },
    )
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        http=protocol,
        h11_max_incomplete_event_size=settings.max_header_bytes,
        timeout_keep_alive=settings.keep_alive_timeout_s,  # type: ignore[arg-type]
        timeout_graceful_shutdown=settings.graceful_timeout_s,  # type: ignore[arg-type]
        server_header=False,
    )
    return DrainingServer(config, settings.drain_s, on_drain)
