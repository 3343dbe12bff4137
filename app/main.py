"""Application factory; ``uvicorn app.main:app`` or ``uvicorn --factory app.main:create_app``.

Nothing is configured or loaded at import: ``app`` is built on first access, and the model
is loaded (and warmed up) in the lifespan, before the server accepts requests.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from app.api.routes import faces, ops, people, probes
from app.gallery.service import Gallery
from app.gallery.store import GalleryStore
from app.http.error_handler import install_error_handler
from app.http.middleware import install_middleware
from app.inference.memory_budget import MemoryBudget, return_freed_memory_to_os
from app.inference.model_loading import LoadedModel
from app.inference.service import FaceService
from app.logging_setup import configure_logging
from app.prometheus import Metrics
from app.settings import Settings
from app.settings_loading import SettingsError, get_settings

DESCRIPTION = """Face verification: embed faces, and tell whether two photos show the same
person. Send images as multipart files or as base64 in JSON. Errors always answer
`{"error": {"code", "message"}}`."""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Load and warm up the model before serving; drain the batcher on shutdown."""
    service: FaceService = app.state.service
    gallery: Gallery = app.state.gallery
    await service.start()
    try:
        await gallery.start(service.model_key)
        # Start-up's objects (modules, app, model wrapper: ~120k) are never collected, so a
        # full collection no longer walks them: ~100 ms pauses of the event loop (issue 41).
        gc.freeze()
        yield
    finally:
        await gallery.stop()
        await service.stop()


def create_app(
    settings: Settings | None = None,
    preloaded: LoadedModel | None = None,
    gallery_store: GalleryStore | None = None,
) -> FastAPI:
    """Build the application; the model loads when its lifespan starts.

    Args:
        settings: Configuration; by default :func:`app.settings_loading.get_settings`.
        preloaded: A model already loaded and checked (``python -m app`` loads it before
            binding, to report a broken model in one line); by default loaded in the lifespan.
        gallery_store: The gallery database already opened and checked (``python -m app``,
            likewise); by default opened in the lifespan.

    Returns:
        The FastAPI application.
    """
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    metrics = Metrics()
    # /docs and /redoc with Swagger UI and ReDoc served from the package, not a CDN.
    app = FastAPIOffline(
        title="faceverify", version="0.1.0", description=DESCRIPTION, lifespan=lifespan
    )
    app.state.settings, app.state.metrics = settings, metrics
    return_freed_memory_to_os()
    budget = MemoryBudget(
        settings.memory_budget_bytes, settings.memory_wait_s, settings.memory_lane_bytes
    )
    app.state.memory_budget = budget
    app.state.service = FaceService(settings, metrics, budget, preloaded)
    app.state.gallery = Gallery(settings, gallery_store)
    install_error_handler(app)
    app.include_router(ops.router)
    app.include_router(faces.router)
    app.include_router(people.router)
    app.include_router(probes.router)
    install_middleware(app, settings, metrics, budget)
    return app


def _default_app() -> FastAPI:
    """``create_app()`` with environment settings; invalid settings exit with a clear message."""
    try:
        return create_app()
    except SettingsError as exc:
        print(f"faceverify: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


_app: FastAPI | None = None


def __getattr__(name: str) -> FastAPI:
    """Build ``app`` lazily on first access (PEP 562), so importing loads nothing."""
    global _app
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if _app is None:
        _app = _default_app()
    return _app
