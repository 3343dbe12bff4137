"""The error answers each route documents in OpenAPI; every body is an ``ErrorResponse``."""

from __future__ import annotations

from typing import Any

from app.api.schemas import ErrorResponse

_FACE_ROUTES = {
    400: "invalid_image / invalid_request",
    401: "unauthorized",
    413: "image_too_large",
    415: "unsupported_media_type",
    422: "no_face / low_quality_face / multiple_faces / too_many_images / validation_error",
    503: "model_not_ready",
}
_PEOPLE_ROUTES = {
    **_FACE_ROUTES,
    404: "person_not_found / face_not_found",
    409: "person_exists / too_many_faces / idempotency_key_in_progress",
    422: "no_face / low_quality_face / multiple_faces / crop_enrolment_disabled / "
    "too_many_images / no_templates / validation_error / idempotency_key_reused",
    503: "model_not_ready / gallery_unavailable",
}


def _responses(descriptions: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    return {
        status: {"model": ErrorResponse, "description": description}
        for status, description in sorted(descriptions.items())
    }


FACE_ERRORS = _responses(_FACE_ROUTES)
PEOPLE_ERRORS = _responses(_PEOPLE_ROUTES)
