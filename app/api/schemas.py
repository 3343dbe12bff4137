"""Request and response bodies of the API, with the examples shown in /docs."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

_B64 = "/9j/4AAQSkZJRgABAQAAAQABAAD..."

# Option types shared by the request bodies: finite numbers only ("nan" is refused as such).
Threshold = Annotated[float, Field(ge=-1.0, le=1.0, allow_inf_nan=False)]
Far = Annotated[float, Field(gt=0.0, lt=1.0, allow_inf_nan=False)]
FACE_CROP_DESCRIPTION = (
    "true: the images are ready-made face crops, embedded whole (not re-aligned) once a face "
    "found in them passes the quality gate. Default false: the face is detected and aligned. "
    "Either way an image without a face gets 422 no_face"
)
RETURN_CROP_DESCRIPTION = (
    "true: each image's result also holds `crop`, the aligned face the model saw, as a PNG "
    "data URL (about 60 KB of base64 for a 150-pixel crop). Default false"
)
RETURN_FACES_DESCRIPTION = (
    "true: each image's result also holds `faces`, every face the detector found (at most 20: "
    "the chosen one and the most confident others), each with its box, landmarks, confidence "
    "and `chosen` (true for the face that was compared). Default false"
)


class ErrorDetail(BaseModel):
    """A machine-readable code and a human-readable message."""

    code: str = Field(examples=["no_face"])
    message: str = Field(examples=["No face was found in the image."])


class ErrorResponse(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


class ModelInfo(BaseModel):
    """The model that produced the embeddings."""

    name: str = Field(examples=["default"])
    version: str = Field(examples=["2.7.0"])
    dimension: int = Field(examples=[768])
    precision: Literal["float32", "int8"] = Field(
        description="the weights served: float32 (model.onnx) or int8 (model.int8.onnx, with "
        "its own calibrated thresholds); FACEVERIFY_PRECISION",
        examples=["float32"],
    )


class FaceInfo(BaseModel):
    """The face used, in the uploaded image's pixels (after EXIF rotation)."""

    box: list[float] = Field(description="[x, y, width, height]", examples=[[88, 61, 140, 140]])
    confidence: float = Field(examples=[0.93])
    landmarks: list[list[float]] = Field(
        description="[x, y] of right eye, left eye, nose, mouth, right ear, left ear",
        examples=[[[130, 110], [185, 108], [158, 140], [157, 170], [95, 120], [222, 118]]],
    )


class DetectedFace(FaceInfo):
    """One face the detector found, in the uploaded image's pixels (after EXIF rotation)."""

    chosen: bool = Field(
        description="true for the face that was embedded (the result's `face`)", examples=[True]
    )


class ImageFaces(BaseModel):
    """How the face of one image was found."""

    face: FaceInfo | None = Field(
        None, description="null when no detection was used (centre crop or detection off)"
    )
    faces_detected: int = Field(examples=[1])
    fallback: bool = Field(
        False,
        description="true when a fallback (padding, centre crop) "
        "was needed to find or frame the face",
    )
    crop: str | None = Field(
        None,
        description="the aligned face the model saw, data:image/png;base64,...; only with "
        "return_crop=true (left out otherwise)",
        examples=["data:image/png;base64,iVBORw0KGgo..."],
    )
    faces: list[DetectedFace] | None = Field(
        None,
        description="every face the detector found (at most 20, in detection order; the one "
        "compared has chosen=true; empty when no detection was used); only with "
        "return_faces=true (left out otherwise)",
    )

    @model_serializer(mode="wrap")
    def _without_absent_options(self, handler: SerializerFunctionWrapHandler):
        """Leave ``crop`` and ``faces`` out of answers that did not ask for them."""
        data = handler(self)
        for key in ("crop", "faces"):
            if data.get(key) is None:
                data.pop(key, None)
        return data


class EmbedResult(ImageFaces):
    """One image's embedding and how its face was found."""

    embedding: list[float] = Field(
        description="L2-normalised embedding", examples=[[0.031, -0.012, 0.118]]
    )


class EmbedFailure(BaseModel):
    """One image that could not be embedded (the others of the request still are)."""

    error: ErrorDetail


class EmbedResponse(BaseModel):
    """Embeddings of the uploaded images, in upload order."""

    model: ModelInfo
    results: list[EmbedResult | EmbedFailure]


class VerifyResponse(BaseModel):
    """Whether two images show the same person."""

    verified: bool = Field(examples=[True])
    similarity: float = Field(description="cosine similarity in [-1, 1]", examples=[0.71])
    threshold: float = Field(description="the threshold used", examples=[0.42])
    operating_point: str = Field(
        description="where the threshold came from: the model's default point, a calibrated "
        "point chosen with `far` (e.g. far_0.001), or `custom` (`threshold` given)",
        examples=["best_accuracy"],
    )
    model: ModelInfo
    image1: ImageFaces
    image2: ImageFaces


class EmbedJsonRequest(BaseModel):
    """JSON form of /embed: base64-encoded image files."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"images": [_B64, _B64]}]}
    )

    images: list[str] = Field(min_length=1, description="base64 image files (JPEG, PNG, ...)")
    face_crop: bool = Field(False, description=FACE_CROP_DESCRIPTION)
    return_crop: bool = Field(False, description=RETURN_CROP_DESCRIPTION)
    return_faces: bool = Field(False, description=RETURN_FACES_DESCRIPTION)


FAR_DESCRIPTION = (
    "use the model's calibrated operating point for this false-accept rate "
    "(one of metadata.json's operating_points, e.g. 0.001)"
)


class VerifyJsonRequest(BaseModel):
    """JSON form of /verify: two base64-encoded image files and an optional threshold."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"image1": _B64, "image2": _B64, "threshold": 0.45}]},
    )

    image1: str = Field(description="base64 image file")
    image2: str = Field(description="base64 image file")
    threshold: Threshold | None = Field(None, description="overrides the calibrated threshold")
    far: Far | None = Field(None, description=FAR_DESCRIPTION)
    face_crop: bool = Field(False, description=FACE_CROP_DESCRIPTION)
    return_crop: bool = Field(False, description=RETURN_CROP_DESCRIPTION)
    return_faces: bool = Field(False, description=RETURN_FACES_DESCRIPTION)


class FaceCropOption(BaseModel):
    """Non-file fields of /embed and enrolment: whether the images are face crops."""

    face_crop: bool = False


class VerifyOptions(FaceCropOption):
    """Non-file fields of /verify: at most one of ``threshold`` and ``far``; ``face_crop``."""

    threshold: Threshold | None = None
    far: Far | None = None

    @model_validator(mode="after")
    def _one_choice(self) -> VerifyOptions:
        if self.threshold is not None and self.far is not None:
            raise ValueError("give either threshold or far, not both")
        return self


class EmbedOptions(FaceCropOption):
    """Non-file fields of /embed: ``face_crop``, ``return_crop``, ``return_faces``."""

    return_crop: bool = False
    return_faces: bool = False


class PairOptions(VerifyOptions):
    """Non-file fields of /verify: those of a probe, ``return_crop`` and ``return_faces``."""

    return_crop: bool = False
    return_faces: bool = False
