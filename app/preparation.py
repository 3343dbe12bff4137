"""Image preparation for the service: bytes -> model pixels and how the face was found.

Blocking work, run in the service's preprocessing threads: decoding (a large JPEG at reduced
size), face detection and alignment. Each thread has its own face detector, since LiteRT
interpreters are not thread-safe.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from app.errors import CropEnrolmentDisabledError
from app.image_input import ImageInput
from app.settings import Settings
from facecore.decode import decode_image_reduced
from facecore.detect import Face
from facecore.preprocess import FacePreprocessor, to_model_input
from facecore.preprocess_config import PreprocessConfig
from facecore.quality import check_crop_detail, check_detected_face, check_face_crop

# A JPEG of 4096+ px is decoded at 1/2..1/8 size, its longest side staying >= this: plenty for a
# 112-px face crop, and a 40 MP upload costs ~40 MB instead of ~400 MB (bench/hostile_mix.py).
DECODE_REDUCE_TO = 2048


@dataclass(frozen=True)
class Prepared:
    """Model pixels of one image and how its face was found."""

    pixels: np.ndarray
    face: Face | None
    faces_detected: int
    fallback: bool


class ImagePreparer:
    """Turns uploaded images into model input under the service's limits (thread-safe).

    A face must be detected (the padded retry included) and pass the quality gate
    (:mod:`facecore.quality`). An image the client declares a face crop (``face_crop``) is
    embedded whole, not re-aligned, once a face found in it passes the same gate; with
    detection off, every image is taken whole with only its contrast and sharpness checked.
    """

    def __init__(self, settings: Settings, config: PreprocessConfig) -> None:
        self.settings, self.config = settings, config
        self.limits = settings.quality_limits
        self._local = threading.local()

    def prepare(self, image: ImageInput, face_crop: bool = False) -> Prepared:
        """Blocking: bytes -> float32 model pixels plus face info, in a preprocessing thread.

        Raises:
            FaceCoreError: Undecodable or oversized image, no face, several faces under the
                ``reject`` policy, or a face refused by the quality gate.
        """
        settings = self.settings
        decoded = decode_image_reduced(
            image.data,
            max_bytes=settings.max_image_bytes,
            max_pixels=settings.max_pixels,
            max_aspect_ratio=settings.max_aspect_ratio,
            min_side=settings.min_image_side,
            reduce_to=DECODE_REDUCE_TO,
        )
        if face_crop or not settings.detection:
            return self._prepare_crop(decoded.rgb, decoded.scale)
        preprocessor = self._preprocessor()
        prepared = preprocessor.process(decoded.rgb)
        check_detected_face(
            decoded.rgb, prepared.face, prepared.pixels, preprocessor.detector, self.limits
        )
        return Prepared(
            prepared.pixels.astype(np.float32),
            prepared.face.scaled(1 / decoded.scale),
            prepared.faces_detected,
            prepared.fallback,
        )

    def _prepare_crop(self, rgb: np.ndarray, scale: float) -> Prepared:
        """Take the whole image as the face, checked for one unless detection is off.

        Detection off is the operator's word that every image is a face: only contrast and
        sharpness are checked then.
        """
        pixels = to_model_input(rgb, self.config.size, self.config.channels)
        if not self.settings.detection:
            check_crop_detail(pixels, self.limits)
            return Prepared(pixels.astype(np.float32), None, 0, False)
        face = check_face_crop(rgb, pixels, self._preprocessor(), self.limits)
        return Prepared(pixels.astype(np.float32), face.scaled(1 / scale), 1, False)

    def _preprocessor(self) -> FacePreprocessor:
        """Return this thread's preprocessor (LiteRT interpreters are not thread-safe)."""
        preprocessor = getattr(self._local, "preprocessor", None)
        if preprocessor is None:
            preprocessor = self._local.preprocessor = FacePreprocessor(self.config)
        return preprocessor


def require_crop_enrolment_allowed(settings: Settings, face_crop: bool) -> None:
    """Refuse to enrol undetected faces (crops) unless the operator allows it."""
    if settings.allow_crop_enrolment or not (face_crop or not settings.detection):
        return
    reason = "face_crop is true" if face_crop else "face detection is off (FACEVERIFY_DETECTION)"
    raise CropEnrolmentDisabledError(
        f"{reason}: only faces the detector finds are enrolled; the operator can allow face "
        "crops with FACEVERIFY_ALLOW_CROP_ENROLMENT=true"
    )
