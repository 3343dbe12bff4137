"""Faces between image frames: a shrunk copy for detection, a padded copy for the retry."""

from __future__ import annotations

import cv2
import numpy as np

from facecore.detect import Face


def bounded_copy(rgb: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """``rgb`` itself if it fits in ``max_side``, else a shrunk copy; and the factor back."""
    height, width = rgb.shape[:2]
    longest = max(height, width)
    if longest <= max_side:
        return rgb, 1.0
    scale = max_side / longest
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), longest / max_side


def scale_face(face: Face, factor: float, shape: tuple[int, ...]) -> Face:
    """Map a face found on a copy shrunk by ``factor`` back to the full image (``shape``)."""
    if factor == 1.0:
        return face
    height, width = shape[:2]
    scaled = face.scaled(factor)
    x, y, w, h = scaled.box
    x0, y0 = min(max(x, 0.0), width), min(max(y, 0.0), height)
    x1, y1 = min(max(x + w, 0.0), width), min(max(y + h, 0.0), height)
    return Face((x0, y0, x1 - x0, y1 - y0), face.confidence, scaled.landmarks)


def shift_face(face: Face, shift: int, shape: tuple[int, ...]) -> Face:
    """Move a face found on a padded image back into the original image's pixels."""
    height, width = shape[:2]
    x, y, w, h = face.box
    x0, y0 = min(max(x + shift, 0), width), min(max(y + shift, 0), height)
    x1, y1 = min(max(x + w + shift, 0), width), min(max(y + h + shift, 0), height)
    return Face((x0, y0, x1 - x0, y1 - y0), face.confidence, face.landmarks + np.float32(shift))
