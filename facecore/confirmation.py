"""The confirmation frame: a detected face warped to a canonical framing, lightness equalised.

A detector fires on texture, text and parts of faces; the same detector, asked again on the
face framed the way it sees faces best (``CONFIRM_SIDE`` px, the template at
``CONFIRM_FACE_SCALE`` of it, lightness evened out by CLAHE), rarely fires on those again.
``facecore.quality`` turns the two measurements here into refusals.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from facecore.align import TEMPLATE_SIZE, similarity_transform, template_points
from facecore.detect import LEFT_EYE, RIGHT_EYE, Face, FaceDetector

CONFIRM_SIDE = 192  # the canonical frame the confirmation detects in
CONFIRM_FACE_SCALE = 0.55  # the template's share of that frame: the face with its surroundings
CONFIRM_MAX_OFFSET = 2.0  # re-detected landmarks this many eye distances off: not the same face
FEATURE_SQUARE = 0.25  # half the side of the square around each landmark, in eye distances
CLAHE_CLIP = 2.0  # the frame's lightness is equalised (Extended Yale B: 19% -> 5% refused)


@dataclass(frozen=True, eq=False)  # holds arrays: compare by identity
class FramedFace:
    """A face warped to the canonical confirmation frame, lightness equalised."""

    pixels: np.ndarray  # uint8 (CONFIRM_SIDE, CONFIRM_SIDE, 3)
    landmarks: np.ndarray  # float (4, 2): where eyes, nose tip and mouth centre are in it

    @property
    def eye_distance(self) -> float:
        """Pixels between the eyes in the frame."""
        return float(np.linalg.norm(self.landmarks[RIGHT_EYE] - self.landmarks[LEFT_EYE]))


def frame_face(rgb: np.ndarray, face: Face) -> FramedFace | None:
    """Warp the face to the canonical frame (None: its landmarks are degenerate)."""
    template = template_points(TEMPLATE_SIZE)
    scale = CONFIRM_FACE_SCALE * CONFIRM_SIDE / TEMPLATE_SIZE
    expected = (template - TEMPLATE_SIZE / 2) * scale + CONFIRM_SIDE / 2
    try:
        matrix = similarity_transform(face.landmarks[:4], expected)
    except ValueError:
        return None
    warped = cv2.warpAffine(
        rgb, matrix, (CONFIRM_SIDE, CONFIRM_SIDE), flags=cv2.INTER_LINEAR, borderValue=0
    )
    return FramedFace(_equalised(warped), expected)


def confirmation(framed: FramedFace, detector: FaceDetector) -> float:
    """Detect again in the frame; the confidence of the same face found there, else 0."""
    found = [
        again.confidence
        for again in detector.detect(framed.pixels)
        if _offset(again.landmarks[:4], framed.landmarks)
        <= CONFIRM_MAX_OFFSET * framed.eye_distance
    ]
    return max(found, default=0.0)


def confirm_face(rgb: np.ndarray, face: Face, detector: FaceDetector) -> float:
    """Frame the face and detect it again: the confirmation's confidence (0: not found)."""
    framed = frame_face(rgb, face)
    return 0.0 if framed is None else confirmation(framed, detector)


def feature_detail(framed: FramedFace) -> float:
    """Return the least grey standard deviation in squares around eyes, nose tip and mouth.

    A real face has detail at each (the frame's lightness is equalised, so a dark side shows
    its structure); half a face on a card, or a drawing without a nose, has a flat one.
    """
    grey = cv2.cvtColor(framed.pixels, cv2.COLOR_RGB2GRAY).astype(np.float32)
    radius = max(1, round(FEATURE_SQUARE * framed.eye_distance))
    return min(
        float(
            grey[round(y) - radius : round(y) + radius, round(x) - radius : round(x) + radius].std()
        )
        for x, y in framed.landmarks
    )


def _equalised(rgb: np.ndarray) -> np.ndarray:
    """Even out the lightness locally (CLAHE on L of Lab): a side-lit face is found again."""
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
    lab[..., 0] = cv2.createCLAHE(clipLimit=CLAHE_CLIP, tileGridSize=(4, 4)).apply(lab[..., 0])
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)


def _offset(points: np.ndarray, expected: np.ndarray) -> float:
    return float(np.sqrt(((points - expected) ** 2).sum(axis=1).mean()))
