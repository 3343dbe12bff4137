"""Answers of the operational routes: /health, and /ready with the model, its points and gallery."""

from __future__ import annotations

from pydantic import (
    BaseModel,
    Field,
)

from app.api.schemas import ModelInfo


class HealthResponse(BaseModel):
    """Liveness."""

    status: str = Field(examples=["ok"])


class GalleryStatus(BaseModel):
    """The gallery of enrolled people."""

    backend: str = Field(examples=["sqlite"])
    templates: int = Field(description="templates of the served model, searchable")
    templates_needing_reenrolment: int = Field(
        description="templates made by another model: never compared, enrol those people again"
    )
    unencrypted_templates: int = Field(
        0,
        description="templates stored without encryption (counted at start-up); with "
        "FACEVERIFY_ENCRYPTION_KEY set, run python -m app.gallery encrypt",
    )


class OperatingPointInfo(BaseModel):
    """One of the served model's operating points (metadata.json), as /verify applies it."""

    name: str = Field(description="what /verify answers in operating_point", examples=["far_0.001"])
    cosine: float = Field(description="the threshold", examples=[0.948])
    far: float | None = Field(
        description="the value of /verify's `far` that selects it; null for a point chosen "
        "otherwise (best_accuracy)",
        examples=[0.001],
    )
    measured_far: float | None = Field(
        description="false-accept rate measured on held-out impostor pairs", examples=[0.000998]
    )
    tar: float | None = Field(
        description="true-accept rate measured on held-out pairs", examples=[0.535]
    )
    default: bool = Field(description="the point /verify uses when neither far nor threshold")


class ReadyResponse(BaseModel):
    """Readiness: the model is loaded and warmed up, the gallery loaded."""

    status: str = Field(examples=["ready"])
    model: ModelInfo
    operating_points: list[OperatingPointInfo] = Field(
        description="the served model's operating points, most lenient first"
    )
    runtime: str = Field(examples=["onnxruntime 1.20.0 providers=['CPUExecutionProvider']"])
    gallery: GalleryStatus
