"""Image preparation for the service: bytes -> model pixels and how the face was found.

Blocking work, run in the service's preprocessing workers: decoding (a large image at reduced
size), face detection and alignment. Each thread has its own face detector, since LiteRT
interpreters are not thread-safe.

Memory, in this order: **price, reserve, then a worker.** On the event loop the server prices
the image's decode from its header (:func:`facecore.decode.decode_peak`,
the pricing the decode itself uses) and reserves that much of the process's memory budget
(:mod:`app.inference.memory_budget`) for it (:func:`reserve_decode`: 413 if it could never fit, 503
``server_busy`` if no room comes within the wait); only then does the image join the workers'
queue (:mod:`app.inference.scheduler`), so a decode waiting for memory never holds a worker. The
worker takes the reserved bytes over (:meth:`DecodeHold.take`) as already held by its decode's
holder (:class:`DecodeReservation`): the decode asks only for any difference, keeps the decoded
pixels' share until the image is prepared, and gives it back then. Bytes never taken over (the
job failed or was cancelled before a worker took it) are given back by the server.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.errors import CropEnrolmentDisabledError, ImageTooLargeError
from app.inference.image_input import ImageInput
from app.inference.memory_budget import SMALL_HOLDER_BYTES, MemoryBudget, Reservation, holder_limit
from app.settings import MIB, Settings
from facecore.decode import decode_image_reduced, decode_peak
from facecore.detect import Face
from facecore.errors import FaceCoreError
from facecore.preprocess import FacePreprocessor, to_model_input
from facecore.preprocess_config import PreprocessConfig
from facecore.quality import check_crop_detail, check_detected_face, check_face_crop

# An image of 4096+ px is decoded reduced, its longest side staying >= this: plenty for a
# 112-px face crop, and a 40 MP upload costs ~40 MB instead of ~400 MB (bench/hostile_mix.py).
DECODE_REDUCE_TO = 2048
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


class DecodeReservation:
    """One decode's share of the memory budget (:class:`facecore.decode_memory.DecodeMemory`).

    A decode may take what its request's images (``request_bytes``) leave of the budget, less
    the lane for small holders where it or they are large (:func:`holder_limit`); one that
    costs more is refused (413) at once: it could never fit. One that does not fit now
    waits for room (``FACEVERIFY_MEMORY_WAIT_S``, then 503 server_busy).

    ``reserved``: bytes already reserved for the decode (by the server, before it took a
    worker): its holder holds them from the start, and :meth:`grow` asks only for more.
    """

    def __init__(self, budget: MemoryBudget, request_bytes: int, reserved: int = 0) -> None:
        self.reservation, self.request_bytes = Reservation(budget), request_bytes
        self.reservation.held = self.prepaid = reserved
        self.cap = holder_limit(budget.capacity, budget.lane, request_bytes)

    def grow(self, size: int) -> None:
        """Reserve ``size`` bytes for the decode (less those reserved already), or refuse it."""
        self.check(size)
        covered = min(size, self.prepaid)
        self.prepaid -= covered
        self.reservation.grow(size - covered)

    async def grow_async(self, size: int) -> None:
        """Reserve ``size`` bytes for the decode on the event loop, or refuse it."""
        self.check(size)
        await self.reservation.grow_async(size)

    def check(self, size: int) -> None:
        """Refuse (413) a decode of ``size`` bytes that could never fit."""
        if size > self.cap:
            raise ImageTooLargeError(
                f"decoding this image would take {size // MIB} MiB; the limit is "
                f"{self.cap // MIB} MiB (FACEVERIFY_MEMORY_BUDGET_BYTES less the small "
                f"requests' lane of {self.reservation.budget.lane // MIB} MiB and the "
                f"{self.request_bytes // MIB} MiB of the request's images); send fewer pixels, "
                "or a JPEG"
            )

    def shrink_to(self, size: int) -> None:
        """Keep only the decoded pixels' share."""
        self.reservation.shrink_to(size)


class DecodeHold:
    """Bytes the server reserved for one image's decode before it took a worker (thread-safe).

    The worker takes them over (:meth:`take`) when it starts the image; the server calls
    :meth:`release` when the job is over, which gives back only what was never taken over.
    """

    def __init__(self, reservation: Reservation) -> None:
        self._reservation, self._lock = reservation, threading.Lock()

    @property
    def reserved(self) -> int:
        """Bytes reserved and not taken over yet."""
        return self._reservation.held

    def take(self) -> int:
        """Hand the reserved bytes to the worker's decode (its holder gives them back)."""
        with self._lock:
            held, self._reservation.held = self._reservation.held, 0
        return held

    def release(self) -> None:
        """Give back the bytes no worker took over (idempotent)."""
        with self._lock:
            self._reservation.release()


def decode_limits(settings: Settings) -> dict[str, Any]:
    """Return the decode limits of the service, as :func:`decode_image_reduced` takes them."""
    return {
        "max_bytes": settings.max_image_bytes,
        "max_pixels": settings.max_pixels,
        "max_aspect_ratio": settings.max_aspect_ratio,
        "min_side": settings.min_image_side,
        "reduce_to": DECODE_REDUCE_TO,
    }


async def reserve_decode(settings: Settings, budget: MemoryBudget, image: ImageInput) -> DecodeHold:
    """On the event loop: price the image's decode and wait for that much of the budget.

    An image its header refuses reserves nothing: its worker's decode refuses it as before
    (image errors come from one place), at the cost of a header read.

    Raises:
        ImageTooLargeError: The decode could never fit (413).
        ServerBusyError: No room came within the budget's wait (503).
    """
    memory = DecodeReservation(budget, image.request_bytes)
    try:
        peak = decode_peak(image.data, **decode_limits(settings))
    except FaceCoreError:
        peak = 0
    # A large decode runs in a worker process, which holds a copy of the encoded bytes.
    copy = len(image.data) if peak > SMALL_HOLDER_BYTES else 0
    await memory.grow_async(peak + copy)
    return DecodeHold(memory.reservation)


def require_crop_enrolment_allowed(settings: Settings, face_crop: bool) -> None:
    """Refuse to enrol undetected faces (crops) unless the operator allows it."""
    if settings.allow_crop_enrolment or not (face_crop or not settings.detection):
        return
    reason = "face_crop is true" if face_crop else "face detection is off (FACEVERIFY_DETECTION)"
    raise CropEnrolmentDisabledError(
        f"{reason}: only faces the detector finds are enrolled; the operator can allow face "
        "crops with FACEVERIFY_ALLOW_CROP_ENROLMENT=true"
    )
