"""FastAPI dependencies: the app's service and settings, API keys, and strict query strings.

All are ``async``: none blocks, and FastAPI would run a plain ``def`` in its thread pool, a
hop to another thread and back for each dependency of each request (issue 44).
"""

from __future__ import annotations

import hmac
from collections import Counter
from typing import Annotated

from fastapi import Depends, Query, Request, Security
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ConfigDict

from app.errors import UnauthorizedError, ValidationFailedError
from app.gallery.service import Gallery
from app.inference.service import FaceService
from app.settings import Settings

API_KEY_HEADER = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="Required when the server is configured with keys.",
)


async def get_app_settings(request: Request) -> Settings:
    """Return the settings the application was created with."""
    return request.app.state.settings


async def get_service(request: Request) -> FaceService:
    """Return the application's face service."""
    return request.app.state.service


async def get_gallery(request: Request) -> Gallery:
    """Return the application's gallery of enrolled people."""
    return request.app.state.gallery


async def require_api_key(
    settings: Annotated[Settings, Depends(get_app_settings)],
    api_key: Annotated[str | None, Security(API_KEY_HEADER)] = None,
) -> None:
    """Accept the request when auth is off or the key matches one configured key.

    Raises:
        UnauthorizedError: Keys are configured and the header is missing or wrong.
    """
    if not settings.auth_enabled:
        return
    offered = (api_key or "").encode()
    matches = [
        hmac.compare_digest(offered, key.get_secret_value().encode()) for key in settings.api_keys
    ]
    if not any(matches):
        raise UnauthorizedError()


class NoQueryParameters(BaseModel):
    """The query of a route that takes none: any parameter is refused (422)."""

    model_config = ConfigDict(extra="forbid")


async def refuse_query_parameters(_: Annotated[NoQueryParameters, Query()]) -> None:
    """Refuse a query string on a route that takes its options in the body.

    ``POST /verify?threshold=0.9`` would otherwise answer at the default threshold, as if the
    client had not asked: a misplaced option is an error, never silently ignored.
    """


async def refuse_repeated_query_parameters(request: Request) -> None:
    """Refuse a query parameter given more than once (``GET /people?limit=1&limit=2``).

    Starlette keeps the last of the values, so the answer would follow one of two
    contradicting values without a word.

    Raises:
        ValidationFailedError: A parameter is repeated; the message names it.
    """
    counts = Counter(name for name, _ in request.query_params.multi_items())
    repeated = [name for name, count in counts.items() if count > 1]
    if repeated:
        raise ValidationFailedError(
            "; ".join(f"query.{name[:64]}: given more than once" for name in repeated)
        )


ServiceDep = Annotated[FaceService, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
GalleryDep = Annotated[Gallery, Depends(get_gallery)]
