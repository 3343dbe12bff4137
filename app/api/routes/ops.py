"""Operational routes: liveness, readiness, metrics, and the browser page (``app/page/``)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import APIRouter, Request, Response

from app.api.dependencies import GalleryDep, ServiceDep, SettingsDep
from app.api.ops_schemas import GalleryStatus, HealthResponse, ReadyResponse
from app.api.responses import model_info, operating_points_info
from app.api.schemas import ErrorResponse
from app.errors import ModelNotReadyError, NotFoundError

router = APIRouter(tags=["operations"])

# The page loads only its own files and speaks only to its own origin: no inline script.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: blob:; connect-src 'self'; form-action 'none'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
PAGE_FILES = {
    "index.html": "text/html; charset=utf-8",
    "page.js": "text/javascript; charset=utf-8",
    "page.css": "text/css; charset=utf-8",
}


@cache
def _page_file(name: str) -> bytes:
    return files("app").joinpath("page", name).read_bytes()


def _page(name: str, settings: SettingsDep) -> Response:
    """One of the page's files, unless the page is turned off (``FACEVERIFY_PAGE=false``)."""
    if not settings.page:
        raise NotFoundError()
    return Response(_page_file(name), media_type=PAGE_FILES[name], headers=PAGE_HEADERS)


@router.get("/", include_in_schema=False)
def page(settings: SettingsDep) -> Response:
    """Serve the browser page: compare two photos, manage and search people."""
    return _page("index.html", settings)


@router.get("/page.js", include_in_schema=False)
def page_script(settings: SettingsDep) -> Response:
    """Serve the page's script."""
    return _page("page.js", settings)


@router.get("/page.css", include_in_schema=False)
def page_style(settings: SettingsDep) -> Response:
    """Serve the page's style sheet."""
    return _page("page.css", settings)


@router.head("/health", include_in_schema=False)
@router.get("/health", response_model=HealthResponse)
def health() -> HealthResponse:
    """Answer while the process is alive (says nothing about the model)."""
    return HealthResponse(status="ok")


@router.head("/ready", include_in_schema=False)
@router.get(
    "/ready",
    response_model=ReadyResponse,
    responses={503: {"model": ErrorResponse, "description": "Not loaded or warming up"}},
)
def ready(service: ServiceDep, gallery: GalleryDep) -> ReadyResponse:
    """Answer 200 once the model is loaded and warmed up; 503 before and while stopping.

    Names the model and its operating points (the thresholds ``far`` selects on /verify).
    """
    if service.draining:
        raise ModelNotReadyError("the service is shutting down")
    if not service.ready or service.metadata is None or not gallery.ready:
        raise ModelNotReadyError()
    status = GalleryStatus(
        backend=gallery.backend,
        templates=len(gallery.index),
        templates_needing_reenrolment=gallery.stale_templates,
        unencrypted_templates=gallery.unencrypted_templates,
    )
    return ReadyResponse(
        status="ready",
        model=model_info(service),
        operating_points=operating_points_info(service),
        runtime=service.runtime_name,
        gallery=status,
    )


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text"}},
)
def metrics(request: Request) -> Response:
    """Prometheus exposition: requests, latencies, batch sizes, faces, model info."""
    body, content_type = request.app.state.metrics.exposition()
    return Response(body, media_type=content_type)
