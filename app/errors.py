"""Every error the API can answer with: one exception family, one JSON shape.

Each error answers ``{"error": {"code": ..., "message": ...}}`` with its HTTP status;
:mod:`app.http.error_handler` maps every other exception into this family.
"""

from __future__ import annotations


class ApiError(Exception):
    """Base of every domain error; subclasses fix ``code`` and ``status``."""

    code = "internal_error"
    status = 500
    default_message = "Internal server error."
    retry_after_s: int | None = None  # answered as Retry-After when set

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

    def body(self) -> dict[str, dict[str, str]]:
        """Return the JSON body of this error."""
        return {"error": {"code": self.code, "message": self.message}}


class InvalidImageError(ApiError):
    """The bytes are not a decodable image, or not valid base64."""

    code, status, default_message = "invalid_image", 400, "The image could not be decoded."


class InvalidRequestError(ApiError):
    """The body is malformed (broken multipart, invalid JSON)."""

    code, status, default_message = "invalid_request", 400, "The request body is malformed."


class UnauthorizedError(ApiError):
    """Missing or wrong API key."""

    code, status, default_message = "unauthorized", 401, "A valid X-API-Key header is required."


class NotFoundError(ApiError):
    """No such route."""

    code, status, default_message = "not_found", 404, "Not found."


class MethodNotAllowedError(ApiError):
    """The route exists but not for this method."""

    code, status, default_message = "method_not_allowed", 405, "Method not allowed."


class RequestTimeoutError(ApiError):
    """The client did not send its request (headers or body) in time."""

    code, status, default_message = "request_timeout", 408, "The request took too long to send."


class ImageTooLargeError(ApiError):
    """An image or the whole body exceeds the configured byte or pixel limits."""

    code, status, default_message = "image_too_large", 413, "The upload is too large."


class HeadersTooLargeError(ApiError):
    """The request line and headers exceed ``FACEVERIFY_MAX_HEADER_BYTES``."""

    code, status = "headers_too_large", 431
    default_message = "The request headers are too large."


class UnsupportedMediaTypeError(ApiError):
    """The body is neither multipart/form-data nor application/json."""

    code, status = "unsupported_media_type", 415
    default_message = "Send multipart/form-data or application/json."


class ValidationFailedError(ApiError):
    """A field is missing or out of range."""

    code, status, default_message = "validation_error", 422, "The request is invalid."


class UnknownOperatingPointError(ApiError):
    """``far`` names no operating point the model was calibrated for."""

    code, status = "unknown_operating_point", 422
    default_message = "The model has no operating point for this far."


class NoFaceError(ApiError):
    """No face found (a client's ready-made crop must say so with ``face_crop``)."""

    code, status, default_message = "no_face", 422, "No face was found in the image."


class LowQualityFaceError(ApiError):
    """A face was found but fails the quality gate (:mod:`facecore.quality`)."""

    code, status, default_message = "low_quality_face", 422, "The face is of too low quality."


class CropEnrolmentDisabledError(ApiError):
    """Enrolment of a face the detector did not find, which the operator has not allowed."""

    code, status = "crop_enrolment_disabled", 422
    default_message = (
        "Only faces the detector finds are enrolled; the operator can allow face crops "
        "with FACEVERIFY_ALLOW_CROP_ENROLMENT=true."
    )


class MultipleFacesError(ApiError):
    """Several faces found and the face policy rejects such images."""

    code, status, default_message = "multiple_faces", 422, "Several faces were found."


class TooManyImagesError(ApiError):
    """More images in one request than allowed."""

    code, status, default_message = "too_many_images", 422, "Too many images in one request."


class PreparationBudgetError(ApiError):
    """The request's images used up its preparation CPU time (``FACEVERIFY_PREPARE_BUDGET_S``)."""

    code, status = "preparation_budget_exceeded", 422

    def __init__(self, budget_s: float) -> None:
        super().__init__(
            f"the request's images took more than {budget_s:g} s of preparation CPU time "
            "(FACEVERIFY_PREPARE_BUDGET_S); this image was not prepared: send fewer or "
            "smaller images per request"
        )


class PersonNotFoundError(ApiError):
    """No enrolled person has this id."""

    code, status, default_message = "person_not_found", 404, "No such person."


class FaceNotFoundError(ApiError):
    """The person has no template with this face id."""

    code, status, default_message = "face_not_found", 404, "No such face."


class PersonExistsError(ApiError):
    """A person with this id is already enrolled."""

    code, status, default_message = "person_exists", 409, "A person with this id exists."


class TooManyFacesError(ApiError):
    """The person would hold more templates of the served model than allowed."""

    code, status = "too_many_faces", 409
    default_message = "The person holds the most templates allowed; remove some first."


class NoTemplatesError(ApiError):
    """The person has no template made by the served model (nothing to compare with)."""

    code, status = "no_templates", 422
    default_message = "The person has no templates of the served model; enrol photos first."


class UnsupportedImageShapeError(ApiError):
    """The image is too elongated or has a side too short to hold a face."""

    code, status = "unsupported_image_shape", 422
    default_message = "The image's shape cannot hold a face."


class ClientDisconnectedError(ApiError):
    """The client closed the connection before its request was read (nginx's 499)."""

    code, status, default_message = "client_disconnected", 499, "The client went away."


class ModelNotReadyError(ApiError):
    """The model is not loaded and warmed up yet, or the service is shutting down."""

    code, status, default_message = "model_not_ready", 503, "The model is not ready."


class ServerBusyError(ApiError):
    """Request bodies held by the process would pass ``FACEVERIFY_MAX_INFLIGHT_BODY_BYTES``."""

    code, status, default_message = "server_busy", 503, "The server is busy; retry shortly."
    retry_after_s = 1


class GalleryUnavailableError(ApiError):
    """The gallery database cannot be read, so an answer could include erased people."""

    code, status = "gallery_unavailable", 503
    default_message = "The gallery database is unavailable; retry shortly."
    retry_after_s = 1


class IdempotencyKeyReusedError(ApiError):
    """The Idempotency-Key was first used with another request (other person, other body)."""

    code, status = "idempotency_key_reused", 422
    default_message = "This Idempotency-Key was used with another request; use a new key."


class IdempotencyKeyInProgressError(ApiError):
    """The first request with this Idempotency-Key has not finished yet."""

    code, status = "idempotency_key_in_progress", 409
    default_message = "A request with this Idempotency-Key is still in progress; retry shortly."
    retry_after_s = 1
