"""Request and response bodies of the people routes (enrol, verify against, identify)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.api.people_fields import METADATA_DESCRIPTION, Metadata, PlainText
from app.api.schemas import (
    FACE_CROP_DESCRIPTION,
    FAR_DESCRIPTION,
    EmbedFailure,
    FaceCropOption,
    FaceInfo,
    Far,
    ImageFaces,
    ModelInfo,
    Threshold,
)

PERSON_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$"
MAX_TOP_K = 50
_B64 = "/9j/4AAQSkZJRgABAQAAAQABAAD..."

_NAME_DESCRIPTION = "at most 256 characters; no control character (Cc) or lone surrogate"


class PersonCreate(BaseModel):
    """A person to enrol: the caller's id (or none, to get a generated one) and free metadata."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"id": "alice", "display_name": "Alice Martin", "metadata": {"badge": 1042}}
            ]
        },
    )

    id: str | None = Field(
        None,
        pattern=PERSON_ID_PATTERN,
        description="1-128 of A-Z a-z 0-9 . _ : @ -; generated when absent",
    )
    display_name: PlainText | None = Field(None, max_length=256, description=_NAME_DESCRIPTION)
    metadata: Metadata | None = Field(None, description=METADATA_DESCRIPTION)


class PersonUpdate(BaseModel):
    """Changes to a person: each field given replaces the stored one, null clears it.

    The id and the templates stay as they are; a field left out is not touched.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"display_name": "Alice Martin-Lee"}]},
    )

    display_name: PlainText | None = Field(None, max_length=256, description=_NAME_DESCRIPTION)
    metadata: Metadata | None = Field(None, description=METADATA_DESCRIPTION)

    @model_validator(mode="after")
    def _something_to_change(self) -> PersonUpdate:
        if not self.model_fields_set:
            raise ValueError("nothing to change: give display_name, metadata or both")
        return self


class FaceModel(BaseModel):
    """The model that made a template."""

    name: str
    version: str


class StoredFace(BaseModel):
    """A stored template's description (the embedding itself is never returned)."""

    id: str = Field(examples=["3f0c9d0e8f7a4b6c9d2e1f0a9b8c7d6e"])
    model: FaceModel
    current: bool = Field(description="made by the served model (false: needs re-enrolment)")
    box: list[float] | None = Field(None, description="[x, y, width, height] in the photo")
    confidence: float | None = None
    created_at: datetime


class PersonResponse(BaseModel):
    """One enrolled person."""

    id: str = Field(examples=["alice"])
    display_name: str | None = None
    metadata: dict[str, Any] | None = None
    created_at: datetime
    faces: list[StoredFace] = Field(default_factory=list)


class PeopleQuery(BaseModel):
    """The query of ``GET /people``: a page of people ordered by id; nothing else is taken."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(100, ge=1, le=500, description="people per page")
    after: PlainText | None = Field(
        None, max_length=128, description="the last id of the page before"
    )


class PeoplePage(BaseModel):
    """A page of people ordered by id; pass ``next_after`` as ``after`` for the next page."""

    people: list[PersonResponse]
    next_after: str | None = None


class EnrolledFace(BaseModel):
    """One photo enrolled: its face id and how its face was found."""

    face_id: str
    face: FaceInfo | None = Field(
        None, description="null when no detection was used (centre crop or detection off)"
    )
    faces_detected: int
    fallback: bool = False


class EnrolResponse(BaseModel):
    """Per photo, in upload order: the face id, or the error of that photo."""

    person_id: str
    model: ModelInfo
    results: list[EnrolledFace | EmbedFailure]


class EnrolJsonRequest(BaseModel):
    """JSON form of /people/{id}/faces: base64-encoded image files."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"images": [_B64, _B64]}]}
    )

    images: list[str] = Field(min_length=1, description="base64 image files")
    face_crop: bool = Field(
        False,
        description=FACE_CROP_DESCRIPTION
        + "; enrolling crops needs FACEVERIFY_ALLOW_CROP_ENROLMENT=true",
    )


class PersonVerifyJsonRequest(BaseModel):
    """JSON form of /people/{id}/verify: one base64 probe image, optional threshold or far."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"image": _B64, "far": 0.001}]}
    )

    image: str = Field(description="base64 image file")
    threshold: Threshold | None = Field(None, description="overrides the default threshold")
    far: Far | None = Field(None, description=FAR_DESCRIPTION)
    face_crop: bool = Field(False, description=FACE_CROP_DESCRIPTION)


class IdentifyJsonRequest(BaseModel):
    """JSON form of /identify: one base64 probe image."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"image": _B64, "top_k": 5}]}
    )

    image: str = Field(description="base64 image file")
    threshold: Threshold | None = Field(None, description="overrides the identification threshold")
    top_k: int = Field(5, ge=1, le=MAX_TOP_K, description="candidates wanted")
    face_crop: bool = Field(False, description=FACE_CROP_DESCRIPTION)


class IdentifyOptions(FaceCropOption):
    """Non-file fields of /identify."""

    threshold: Threshold | None = None
    top_k: int = Field(5, ge=1, le=MAX_TOP_K)


class PersonVerifyResponse(BaseModel):
    """A probe photo against one person's templates of the served model."""

    person_id: str
    verified: bool = Field(description="similarity (best template) >= threshold")
    similarity: float = Field(description="cosine with the best-matching template")
    mean_similarity: float = Field(description="mean cosine over the person's templates")
    threshold: float
    operating_point: str = Field(description="as on /verify: default, far_..., or custom")
    face_id: str = Field(description="the template that matched best")
    templates: int = Field(description="templates of the served model compared")
    model: ModelInfo
    probe: ImageFaces


class Candidate(BaseModel):
    """One enrolled person, by their best template."""

    person_id: str
    face_id: str
    similarity: float
    verified: bool = Field(description="similarity >= the identification threshold")


class GallerySize(BaseModel):
    """What a probe was searched against."""

    templates: int
    people: int


class IdentifyResponse(BaseModel):
    """The most similar enrolled people, best first (empty when nobody is enrolled)."""

    candidates: list[Candidate]
    threshold: float = Field(description="identification threshold used (see README)")
    fpir_target: float = Field(description="false-positive identification rate aimed at")
    fpir_bound: float | None = Field(
        None,
        description="FPIR the threshold bounds at this gallery size, from the 95% upper "
        "confidence limit of its calibrated FAR times its cross-set margin; null if overridden",
    )
    fpir_bound_scope: str | None = Field(
        None, description="which photos fpir_bound holds for, and which it does not"
    )
    gallery: GallerySize
    model: ModelInfo
    probe: ImageFaces
