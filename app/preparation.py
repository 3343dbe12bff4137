"""Image preparation for the service: bytes -> model pixels and how the face was found.

Blocking work, run in the service's preprocessing threads: decoding (a large JPEG at reduced
size), face detection and alignment. Each thread has its own face detector, since LiteRT
interpreters are not thread-safe.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from app.image_input import ImageInput
from app.settings import Settings
from facecore.decode import decode_image_reduced
from facecore.detect import Face
from facecore.preprocess import FacePreprocessor, to_model_input
from facecore.preprocess_config import PreprocessConfig

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
    """Turns uploaded images into model input under the service's limits (thread-safe)."""

    def __init__(self, settings: Settings, config: PreprocessConfig) -> None:
        self.settings, self.config = settings, config
        self._local = threading.local()

    def prepare(self, image: ImageInput) -> Prepared:
        """Blocking: bytes -> float32 model pixels plus face info, in a preprocessing thread."""
        data = image.data
        settings = self.settings
        decoded = decode_image_reduced(
            data,
            max_bytes=settings.max_image_bytes,
            max_pixels=settings.max_pixels,
            max_aspect_ratio=settings.max_aspect_ratio,
            min_side=settings.min_image_side,
            reduce_to=DECODE_REDUCE_TO,
        )
        config = self.config
        if not self.settings.detection:
            pixels = to_model_input(decoded.rgb, config.size, config.channels)
            return Prepared(pixels.astype(np.float32), None, 0, False)
        prepared = self._preprocessor().process(decoded.rgb)
        face = None if prepared.face is None else prepared.face.scaled(1 / decoded.scale)
        return Prepared(
            prepared.pixels.astype(np.float32), face, prepared.faces_detected, prepared.fallback
        )

    def _preprocessor(self) -> FacePreprocessor:
        """Return this thread's preprocessor (LiteRT interpreters are not thread-safe)."""
        preprocessor = getattr(self._local, "preprocessor", None)
        if preprocessor is None:
            preprocessor = self._local.preprocessor = FacePreprocessor(self.config)
        return preprocessor
