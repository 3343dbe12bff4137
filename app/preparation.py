"""Image preparation for the service: bytes -> model pixels and how the face was found.

Blocking work, run in the service's preprocessing threads: decoding (a large image at reduced
size), face detection and alignment. Each thread has its own face detector, since LiteRT
interpreters are not thread-safe. A decode reserves what its header says it will hold from
the process's memory budget (:mod:`app.memory_budget`) before any pixel is decoded, keeps the
decoded pixels' share until the image is prepared, and gives it back then.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from app.errors import CropEnrolmentDisabledError, ImageTooLargeError
from app.image_input import ImageInput
from app.memory_budget import MIB, MemoryBudget, Reservation, holder_limit
from app.settings import Settings
from facecore.decode import decode_image_reduced
from facecore.detect import Face
from facecore.preprocess import FacePreprocessor, to_model_input
from facecore.preprocess_config import PreprocessConfig
from facecore.quality import check_crop_detail, check_detected_face, check_face_crop

# An image of 4096+ px is decoded reduced, its longest side staying >= this: plenty for a
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

    def __init__(self, settings: Settings, config: PreprocessConfig, budget: MemoryBudget) -> None:
        self.settings, self.config, self.budget = settings, config, budget
        self.limits = settings.quality_limits
        self._local = threading.local()

    def prepare(self, image: ImageInput, face_crop: bool = False) -> Prepared:
        """Blocking: bytes -> float32 model pixels plus face info, in a preprocessing thread.

        Raises:
            FaceCoreError: Undecodable or oversized image, no face, several faces under the
                ``reject`` policy, or a face refused by the quality gate.
        """
        memory = DecodeReservation(self.budget, image.request_bytes)
        try:
            return self._prepare(image, face_crop, memory)
        finally:
            memory.reservation.release()

    def _prepare(self, image: ImageInput, face_crop: bool, memory: DecodeReservation) -> Prepared:
        settings = self.settings
        decoded = decode_image_reduced(
            image.data,
            max_bytes=settings.max_image_bytes,
            max_pixels=settings.max_pixels,
            max_aspect_ratio=settings.max_aspect_ratio,
            min_side=settings.min_image_side,
            reduce_to=DECODE_REDUCE_TO,
            memory=memory,
        )
        if face_crop or not settings.detection:
            return self._prepare_crop(decoded.rgb, decoded.scale)
        preprocessor = self._preprocessor()
        prepared = preprocessor.process(decoded.rgb)
        check_detected_face(decoded.rgb, prepared.face, preprocessor.detector, self.limits)
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
            check_crop_detail(rgb, self.limits)
            return Prepared(pixels.astype(np.float32), None, 0, False)
        face = check_face_crop(rgb, self._preprocessor(), self.limits)
        return Prepared(pixels.astype(np.float32), face.scaled(1 / scale), 1, False)

    def _preprocessor(self) -> FacePreprocessor:
        """Return this thread's preprocessor (LiteRT interpreters are not thread-safe)."""
        preprocessor = getattr(self._local, "preprocessor", None)
        if preprocessor is None:
            preprocessor = self._local.preprocessor = FacePreprocessor(self.config)
        return preprocessor


class DecodeReservation:
    """One decode's share of the memory budget (:class:`facecore.decode_memory.DecodeMemory`).

    A decode may take what its request's images (``request_bytes``) leave of the budget, less
    the lane for small holders where it or they are large (:func:`holder_limit`); one that
    costs more is refused (413) at once: it could never fit. One that does not fit now
    waits for room (``FACEVERIFY_MEMORY_WAIT_S``, then 503 server_busy).
    """

    def __init__(self, budget: MemoryBudget, request_bytes: int) -> None:
        self.reservation, self.request_bytes = Reservation(budget), request_bytes
        self.cap = holder_limit(budget.capacity, budget.lane, request_bytes)

    def grow(self, size: int) -> None:
        """Reserve ``size`` bytes for the decode, or refuse it."""
        if size > self.cap:
            raise ImageTooLargeError(
                f"decoding this image would take {size // MIB} MiB; the limit is "
                f"{self.cap // MIB} MiB (FACEVERIFY_MEMORY_BUDGET_BYTES less the small "
                f"requests' lane of {self.reservation.budget.lane // MIB} MiB and the "
                f"{self.request_bytes // MIB} MiB of the request's images); send fewer pixels, "
                "or a JPEG"
            )
        self.reservation.grow(size)

    def shrink_to(self, size: int) -> None:
        """Keep only the decoded pixels' share."""
        self.reservation.shrink_to(size)


def require_crop_enrolment_allowed(settings: Settings, face_crop: bool) -> None:
    """Refuse to enrol undetected faces (crops) unless the operator allows it."""
    if settings.allow_crop_enrolment or not (face_crop or not settings.detection):
        return
    reason = "face_crop is true" if face_crop else "face detection is off (FACEVERIFY_DETECTION)"
    raise CropEnrolmentDisabledError(
        f"{reason}: only faces the detector finds are enrolled; the operator can allow face "
        "crops with FACEVERIFY_ALLOW_CROP_ENROLMENT=true"
    )
