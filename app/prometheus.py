"""Prometheus metrics of one application instance, in its own registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
)

if TYPE_CHECKING:  # no import of the runtime's package at run time
    from app.inference.runtime import EmbeddingRuntime
    from facecore.metadata import ModelMetadata

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
_FACE_BUCKETS = (0, 1, 2, 3, 5, 10, 20)


@dataclass
class Metrics:
    """The service's metrics; a fresh registry per app keeps tests independent."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self._add_http_metrics(self.registry)
        self._add_model_metrics(self.registry)

    def _add_http_metrics(self, registry: CollectorRegistry) -> None:
        """Count requests, their latency and rejected images (by route, status, error code)."""
        self.requests = Counter(
            "faceverify_http_requests",
            "HTTP requests by route and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "faceverify_http_request_duration_seconds",
            "Request latency by route.",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.image_errors = Counter(
            "faceverify_image_errors",
            "Images rejected, by error code.",
            ["code"],
            registry=registry,
        )

    def _add_model_metrics(self, registry: CollectorRegistry) -> None:
        """Track batching, inference time, faces found, readiness and the served model."""
        self.batch_size = Histogram(
            "faceverify_batch_size",
            "Images per model call.",
            buckets=_BATCH_BUCKETS,
            registry=registry,
        )
        self.inference_seconds = Histogram(
            "faceverify_inference_duration_seconds",
            "Duration of one model call.",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.faces_detected = Histogram(
            "faceverify_faces_detected",
            "Faces detected per image.",
            buckets=_FACE_BUCKETS,
            registry=registry,
        )
        self.queue_depth = Gauge(
            "faceverify_batch_queue_depth", "Images waiting for the model.", registry=registry
        )
        self.ready = Gauge(
            "faceverify_ready", "1 once the model is loaded and warmed up.", registry=registry
        )
        self.model_info = Info("faceverify_model", "The served model.", registry=registry)

    def model_ready(self, metadata: ModelMetadata, backend: str, runtime: EmbeddingRuntime) -> None:
        """Publish the served model (``faceverify_model_info``) and its readiness."""
        info = {"name": metadata.name, "version": metadata.version}
        info["dimension"], info["backend"] = str(metadata.embedding.dimension), backend
        info["runtime"], info["gpu"] = runtime.description, str(runtime.on_gpu).lower()
        info["precision"] = metadata.precision
        self.model_info.info(info)
        self.ready.set(1)

    def exposition(self) -> tuple[bytes, str]:
        """Return the Prometheus text exposition and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
