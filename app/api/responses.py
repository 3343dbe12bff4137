"""The answers the routes build from outcomes: one place for each response part."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import cv2
import numpy as np

from app.api.ops_schemas import OperatingPointInfo
from app.api.people_schemas import EnrolledFace, FaceModel, PersonResponse, StoredFace
from app.api.schemas import (
    DetectedFace,
    EmbedFailure,
    EmbedResult,
    ErrorDetail,
    FaceInfo,
    ImageFaces,
    ModelInfo,
)
from app.errors import ApiError
from app.gallery.records import FaceRecord, Person
from app.gallery.service import Gallery
from app.inference.outcomes import Embedded
from app.inference.service import FaceService
from facecore.detect import Face


def model_info(service: FaceService) -> ModelInfo:
    """Name, version, embedding size and precision of the served model."""
    metadata = service.model_metadata
    return ModelInfo(
        name=metadata.name,
        version=metadata.version,
        dimension=metadata.embedding.dimension,
        precision=metadata.precision,
    )


def operating_points_info(service: FaceService) -> list[OperatingPointInfo]:
    """List the served model's operating points, most lenient first; the default one marked.

    A model whose metadata has no table still has its default threshold, listed alone.
    """
    metadata = service.model_metadata
    default = metadata.default_operating_point
    points = [
        OperatingPointInfo(
            name=point.name,
            cosine=point.cosine,
            far=point.far_target,
            measured_far=point.far,
            tar=point.tar,
            default=point.far_target is None and point.name == default,
        )
        for point in metadata.operating_points
    ]
    if not any(point.default for point in points):
        threshold = metadata.threshold
        points.append(
            OperatingPointInfo(
                name=default,
                cosine=threshold.cosine,
                far=None,
                measured_far=threshold.far,
                tar=threshold.tar,
                default=True,
            )
        )
    return sorted(points, key=lambda point: point.cosine)


def crop_data_url(pixels: np.ndarray) -> str:
    """Encode the model's uint8 input pixels (RGB or grey) as a PNG data URL."""
    image = pixels if pixels.shape[-1] == 1 else cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
    ok, png = cv2.imencode(".png", image)
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 image
        raise RuntimeError("PNG encoding failed")
    return "data:image/png;base64," + base64.b64encode(png.tobytes()).decode("ascii")


def embed_result(
    outcome: Embedded | ApiError, with_faces: bool = False
) -> EmbedResult | EmbedFailure:
    """One image's /embed result: its embedding and face, or its error.

    ``with_faces``: also list every detected face (``return_faces``).
    """
    if isinstance(outcome, ApiError):
        return EmbedFailure(error=ErrorDetail(code=outcome.code, message=outcome.message))
    faces = image_faces(outcome, with_faces)
    return EmbedResult(
        embedding=outcome.embedding.tolist(),
        face=faces.face,
        faces_detected=faces.faces_detected,
        fallback=faces.fallback,
        crop=faces.crop,
        faces=faces.faces,
    )


def face_info(face: Face) -> FaceInfo:
    """One face's box, confidence and landmarks as plain numbers."""
    return FaceInfo(
        box=[float(value) for value in face.box],
        confidence=float(face.confidence),
        landmarks=face.landmarks.astype(float).tolist(),
    )


def image_faces(embedded: Embedded, with_faces: bool = False) -> ImageFaces:
    """How the face of one image was found, in the uploaded image's pixels.

    ``with_faces``: also list every detected face (``return_faces``), the chosen one marked.
    """
    info = None if embedded.face is None else face_info(embedded.face)
    crop = None if embedded.crop is None else crop_data_url(embedded.crop)
    listed = None
    if with_faces:
        listed = [
            DetectedFace(**face_info(face).model_dump(), chosen=index == embedded.chosen)
            for index, face in enumerate(embedded.faces)
        ]
    return ImageFaces(
        face=info,
        faces_detected=embedded.faces_detected,
        fallback=embedded.fallback,
        crop=crop,
        faces=listed,
    )


def enrol_results(
    outcomes: list[Embedded | ApiError], records: Iterator[FaceRecord]
) -> list[EnrolledFace | EmbedFailure]:
    """Each photo's enrolment result, in upload order: its new template or its error."""
    results = []
    for outcome in outcomes:
        if isinstance(outcome, ApiError):
            results.append(embed_result(outcome))
        else:
            faces = image_faces(outcome)
            results.append(
                EnrolledFace(
                    face_id=next(records).id,
                    face=faces.face,
                    faces_detected=faces.faces_detected,
                    fallback=faces.fallback,
                )
            )
    return results


def person_answer(person: Person, gallery: Gallery) -> PersonResponse:
    """Describe a person and their templates."""
    return PersonResponse(
        id=person.id,
        display_name=person.display_name,
        metadata=person.attributes,
        created_at=person.created_at,
        faces=[stored_face(face, gallery) for face in person.faces],
    )


def stored_face(face: FaceRecord, gallery: Gallery) -> StoredFace:
    """One stored template's description; ``current``: made by the served model."""
    current = (face.model_name, face.model_version) == (gallery.model.name, gallery.model.version)
    return StoredFace(
        id=face.id,
        model=FaceModel(name=face.model_name, version=face.model_version),
        current=current,
        box=list(face.box) if face.box else None,
        confidence=face.confidence,
        created_at=face.created_at,
    )
