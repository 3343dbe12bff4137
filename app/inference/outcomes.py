"""What the face service returns: one image's embedding, and the comparison of two images."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facecore.detect import Face


@dataclass(frozen=True)
class Embedded:
    """One image's embedding and how its face was found."""

    embedding: np.ndarray
    face: Face | None
    faces_detected: int
    fallback: bool
    crop: np.ndarray | None = None  # the model's uint8 input pixels, kept when asked for
    faces: tuple[Face, ...] = ()  # the detected faces listed (at most MAX_LISTED_FACES)
    chosen: int | None = None  # the index of ``face`` in ``faces``


@dataclass(frozen=True)
class Verification:
    """The comparison of two images."""

    verified: bool
    similarity: float
    threshold: float
    operating_point: str
    first: Embedded
    second: Embedded
