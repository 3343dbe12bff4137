"""Image preparation for the service: bytes -> model pixels and how the face was found.

Blocking work, run in the service's preprocessing workers: decoding (a large image at reduced
size), face detection and alignment. Each thread has its own face detector, since LiteRT
interpreters are not thread-safe.

Memory: see :mod:`app.inference.decode_reservation` (price, reserve, then a worker).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from app.errors import CropEnrolmentDisabledError
from app.inference.decode_reservation import DecodeReservation, decode_limits
from app.inference.image_input import ImageInput
from app.inference.memory_budget import MemoryBudget
from app.settings import Settings
from facecore.decode import decode_image_reduced
from facecore.detect import Face
from facecore.preprocess import FacePreprocessor, to_model_input
from facecore.preprocess_config import PreprocessConfig
from facecore.quality import check_crop_detail, check_detected_face, check_face_crop

# At most this many of an image's detected faces are listed (``return_faces``): the chosen one
# and the most confident others. A crowd photo must not make an answer or its pickle grow.
MAX_LISTED_FACES = 20


@dataclass(frozen=True)
class PreparedImage:
    """Model pixels of one image and how its face was found.

    ``faces``: the detected faces (at most ``MAX_LISTED_FACES``, in detection order), in the
    uploaded image's pixels like ``face``; ``chosen``: the index of ``face`` among them (None
    when no detection was used). Plain numbers and small arrays: the object stays picklable
    for the preparation processes.
    """

    pixels: np.ndarray
    face: Face | None
    faces_detected: int
    fallback: bool
    faces: tuple[Face, ...] = ()
    chosen: int | None = None


def listed_faces(
    faces: tuple[Face, ...], chosen: Face, scale: float
) -> tuple[tuple[Face, ...], int]:
    """Bound ``faces`` to ``MAX_LISTED_FACES`` (``chosen`` always kept), mapped by ``1 / scale``.

    Returns the faces, in detection order, and the index of ``chosen`` among them.
    """
    kept = set(sorted(range(len(faces)), key=lambda i: -faces[i].confidence)[:MAX_LISTED_FACES])
    index = next((i for i, face in enumerate(faces) if face is chosen), None)
    if index is None:  # not one of the list (not expected): list it alone
        return (chosen.scaled(1 / scale),), 0
    if index not in kept:
        kept.remove(min(kept, key=lambda i: faces[i].confidence))
        kept.add(index)
    order = sorted(kept)
    return tuple(faces[i].scaled(1 / scale) for i in order), order.index(index)


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

    def prepare(self, image: ImageInput, face_crop: bool, reserved: int = 0) -> PreparedImage:
        """Blocking: bytes -> float32 model pixels plus face info, in a preprocessing worker.

        ``reserved``: bytes the server already reserved for this decode (:func:`reserve_decode`),
        handed over to this decode's holder, which gives them back when the image is prepared.

        Raises:
            FaceCoreError: Undecodable or oversized image, no face, several faces under the
                ``reject`` policy, or a face refused by the quality gate.
        """
        memory = DecodeReservation(self.budget, image.request_bytes, reserved)
        try:
            return self._prepare(image, face_crop, memory)
        finally:
            memory.reservation.release()

    def _prepare(
        self, image: ImageInput, face_crop: bool, memory: DecodeReservation
    ) -> PreparedImage:
        settings = self.settings
        decoded = decode_image_reduced(image.data, memory=memory, **decode_limits(settings))
        if face_crop or not settings.detection:
            return self._prepare_crop(decoded.rgb, decoded.scale)
        preprocessor = self._preprocessor()
        prepared = preprocessor.process(decoded.rgb)
        check_detected_face(decoded.rgb, prepared.face, preprocessor.detector, self.limits)
        faces, chosen = listed_faces(prepared.faces, prepared.face, decoded.scale)
        return PreparedImage(
            prepared.pixels.astype(np.float32),
            faces[chosen],
            prepared.faces_detected,
            prepared.fallback,
            faces,
            chosen,
        )

    def _prepare_crop(self, rgb: np.ndarray, scale: float) -> PreparedImage:
        """Take the whole image as the face, checked for one unless detection is off.

        Detection off is the operator's word that every image is a face: only contrast and
        sharpness are checked then.
        """
        pixels = to_model_input(rgb, self.config.size, self.config.channels)
        if not self.settings.detection:
            check_crop_detail(rgb, self.limits)
            return PreparedImage(pixels.astype(np.float32), None, 0, False)
        face = check_face_crop(rgb, self._preprocessor(), self.limits).scaled(1 / scale)
        return PreparedImage(pixels.astype(np.float32), face, 1, False, (face,), 0)

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
