"""Strict JSON for the bodies FastAPI parses itself (``POST /people``).

Python's ``json`` accepts ``NaN`` and ``Infinity`` (not JSON), turns ``1e999`` into infinity and
keeps the last of two equal keys: each would be stored as something the client did not send
(an infinity is written back as ``null``). Here they are refused, as the streaming reader of
the image routes (:mod:`app.http.json_reader`) refuses them: a syntax error, a non-finite constant,
an over-long integer or nesting too deep is 400 ``invalid_request``; a repeated key or a number
out of a double's range is 422 ``validation_error``. A body sent without a JSON content type
is 415 ``unsupported_media_type``, as on the image routes (FastAPI would answer 422). The route
class is FastAPI's documented hook for a custom request ("Custom Request and APIRoute class").
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute

from app.errors import UnsupportedMediaTypeError

MAX_INT_DIGITS = 4000  # under Python's own limit on int(str), 4300 digits


class _RefusedValueError(ValueError):
    """Well-formed JSON that would not be kept as sent (422, not 400)."""


def loads_strict(data: bytes) -> Any:
    """Parse a JSON document; raise HTTPException (400 or 422) on what plain json would bend."""
    try:
        return json.loads(
            data,
            object_pairs_hook=_unique_keys,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
            parse_int=_bounded_int,
        )
    except _RefusedValueError as exc:
        raise HTTPException(422, str(exc)) from None
    except RecursionError:
        raise HTTPException(400, "the body is not valid JSON: nested too deeply") from None
    except ValueError as exc:  # json.JSONDecodeError included
        raise HTTPException(400, f"the body is not valid JSON: {_first_line(exc)}") from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _RefusedValueError(f"body: the key {key[:64]!r} is given more than once")
        result[key] = value
    return result


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _RefusedValueError(f"body: the number {text[:32]} is out of range")
    return value


def _bounded_int(text: str) -> int:
    if len(text) > MAX_INT_DIGITS:
        raise ValueError(f"an integer of more than {MAX_INT_DIGITS} digits")
    return int(text)


def _first_line(exc: ValueError) -> str:
    return (str(exc).strip().splitlines() or ["malformed"])[0][:200]


class StrictJsonRequest(Request):
    """A request whose ``json()`` is :func:`loads_strict`."""

    async def json(self) -> Any:
        """Parse the body once, strictly."""
        if not hasattr(self, "_json"):
            self._json = loads_strict(await self.body())
        return self._json


def require_json(request: Request) -> None:
    """Raise UnsupportedMediaTypeError unless the body is ``application/json`` (or ``...+json``)."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise UnsupportedMediaTypeError(
            f"content type {content_type or '(none)'!r} is not supported; send application/json"
        )


class StrictJsonRoute(APIRoute):
    """An APIRoute whose endpoint receives a :class:`StrictJsonRequest`; a body must be JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap FastAPI's handler so that the body is JSON, parsed strictly."""
        handler = super().get_route_handler()
        takes_json = self.body_field is not None  # a route reading the request itself: as is

        async def strict_handler(request: Request) -> Response:
            if takes_json:
                require_json(request)
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict_handler
