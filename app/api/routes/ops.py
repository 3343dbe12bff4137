"""Operational routes: liveness, readiness, metrics, and the docs redirect."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from app.api.dependencies import GalleryDep, ServiceDep
from app.api.responses import model_info
from app.api.schemas import ErrorResponse, GalleryStatus, HealthResponse, ReadyResponse
from app.errors import ModelNotReadyError

router = APIRouter(tags=["operations"])


@router.get("/", include_in_schema=False)
def root() -> RedirectResponse:
    """Send browsers to the interactive documentation."""
    return RedirectResponse("/docs")


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
    """Answer 200 once the model is loaded and warmed up; 503 before and while stopping."""
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
        status="ready", model=model_info(service), runtime=service.runtime_name, gallery=status
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
