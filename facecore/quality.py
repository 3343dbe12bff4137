"""The face-quality gate: what a detected face (or a client's face crop) must show to be embedded.

A detector fires on more than faces: on text, stripes, smooth noise, half a face. Before a face
is embedded, ``check_detected_face`` asks, cheapest first:

1. size: the eyes are at least ``min_eye_distance_px`` apart in the decoded image;
2. layout: the four landmarks fit the alignment template to within ``max_landmark_misfit_px``
   (in pixels of the 112-px template) after the best rotation, scale and shift;
3. confirmation: the face, warped to a canonical framing (the template at
   ``CONFIRM_FACE_SCALE`` of a ``CONFIRM_SIDE``-px square with its surroundings) and its
   lightness equalised, is detected again, where expected, with confidence at least
   ``min_confirmation``. A detection on texture
   rarely survives being re-framed; a real face is found again at a size the detector likes;
4. feature detail: in that equalised frame, the squares around the eyes, the nose tip and the
   mouth each have a grey standard deviation of at least ``min_feature_detail`` (half a face
   on a plain card, or a drawing of one, has a flat square);
5. contrast and sharpness of the face aligned to the 112-px ``arcface`` template, whatever
   the served model's own crop (the limits hold for every model): grey standard deviation at least
   ``min_contrast``; Laplacian standard deviation over grey standard deviation (independent of
   brightness and contrast) at least ``min_sharpness``.

A client's face crop (``check_face_crop``) is embedded whole, without re-alignment, but only
when its shortest side holds ``min_eye_distance_px`` at the template's eye spacing and a face
found in it passes the same checks (contrast and sharpness of the crop at 112 px).
The limits were chosen on the shared face sets and on ``bench.nonfaces``'s synthetic pictures
(``python -m bench.face_quality``; docs/benchmarks.md, "Face-quality gate").
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from facecore.align import TEMPLATE_SIZE, align_face, similarity_transform, template_points
from facecore.confirmation import confirmation, feature_detail, frame_face
from facecore.detect import LEFT_EYE, RIGHT_EYE, Face, FaceDetector
from facecore.errors import LowQualityFaceError, NoFaceError
from facecore.preprocess import FacePreprocessor, to_model_input

# The template's eye spacing as a share of its side (arcface: 35.2 px of 112).
TEMPLATE_EYE_SHARE = 0.3146


@dataclass(frozen=True)
class QualityLimits:
    """What a face must show before it is embedded (module docstring)."""

    min_eye_distance_px: float = 8.0
    max_landmark_misfit_px: float = 10.0
    min_confirmation: float = 0.7
    min_feature_detail: float = 2.0
    min_contrast: float = 5.0
    min_sharpness: float = 0.08

    def __post_init__(self) -> None:
        invalid = [
            name
            for name, ok in {
                "min_eye_distance_px": self.min_eye_distance_px >= 0,
                "max_landmark_misfit_px": self.max_landmark_misfit_px > 0,
                "min_confirmation": 0.0 <= self.min_confirmation < 1.0,
                "min_feature_detail": self.min_feature_detail >= 0,
                "min_contrast": self.min_contrast >= 0,
                "min_sharpness": self.min_sharpness >= 0,
            }.items()
            if not ok
        ]
        if invalid:
            raise ValueError(f"invalid QualityLimits fields: {invalid} in {self}")


def check_detected_face(
    rgb: np.ndarray, face: Face, detector: FaceDetector, limits: QualityLimits
) -> None:
    """Refuse a detected face that is too small, not face-shaped, unconfirmed, flat or blurred.

    Args:
        rgb: The image the face was detected in (uint8 RGB).
        face: The detection, in ``rgb``'s pixels.
        detector: The detector to confirm the face with.
        limits: The limits to apply.

    Raises:
        LowQualityFaceError: The message names the check and its limit.
    """
    eye_distance = float(np.linalg.norm(face.landmarks[RIGHT_EYE] - face.landmarks[LEFT_EYE]))
    if eye_distance < limits.min_eye_distance_px:
        raise LowQualityFaceError(
            f"the face is {eye_distance:.0f} px between the eyes; "
            f"at least {limits.min_eye_distance_px:g} are needed"
        )
    misfit = landmark_misfit(face.landmarks)
    if misfit > limits.max_landmark_misfit_px:
        raise LowQualityFaceError(
            f"the landmarks found do not have a face's layout (misfit {misfit:.1f} px; "
            f"at most {limits.max_landmark_misfit_px:g})"
        )
    framed = frame_face(rgb, face)
    confidence = 0.0 if framed is None else confirmation(framed, detector)
    if confidence < limits.min_confirmation:
        raise LowQualityFaceError(
            f"the face was not confirmed when framed on its own (detector confidence "
            f"{confidence:.2f}; at least {limits.min_confirmation:g} is needed)"
        )
    detail = feature_detail(framed)
    if detail < limits.min_feature_detail:
        raise LowQualityFaceError(
            f"an eye, the nose or the mouth shows no detail (contrast {detail:.1f} around it; "
            f"at least {limits.min_feature_detail:g} is needed)"
        )
    check_crop_detail(align_face(rgb, face.landmarks, TEMPLATE_SIZE, "arcface"), limits)


def check_face_crop(rgb: np.ndarray, preprocessor: FacePreprocessor, limits: QualityLimits) -> Face:
    """Refuse a client's face crop unless a face is found in it and passes the gate.

    The crop is embedded whole (the client aligned it), but a face must still be detected in it
    (the padded retry included) and pass every check of ``check_detected_face``, contrast and
    sharpness measured on the crop resized to the gate's ``TEMPLATE_SIZE``.

    Returns:
        The face found, in the crop's pixels.

    Raises:
        LowQualityFaceError: The crop is too small, or its face fails a check.
        NoFaceError: No face in the crop.
    """
    min_side = limits.min_eye_distance_px / TEMPLATE_EYE_SHARE
    side = min(rgb.shape[:2])
    if side < min_side:
        raise LowQualityFaceError(
            f"the face crop is {side} px on its shortest side; at least {min_side:.0f} are "
            f"needed (eyes {limits.min_eye_distance_px:g} px apart)"
        )
    faces, _ = preprocessor.find_faces(rgb)
    if not faces:
        raise NoFaceError("no face found in the face crop")
    face = preprocessor.choose(faces)
    check_detected_face(rgb, face, preprocessor.detector, limits)
    return face


def check_crop_detail(crop: np.ndarray, limits: QualityLimits) -> None:
    """Refuse a face crop whose grey contrast or sharpness is too low.

    Measured at the gate's own size (``TEMPLATE_SIZE``, where the limits were chosen), whatever
    the served model's input size: the same face passes or fails for every model.

    Raises:
        LowQualityFaceError: The message names the check and its limit.
    """
    contrast, sharpness = crop_detail(to_model_input(crop, TEMPLATE_SIZE, 3))
    if contrast < limits.min_contrast:
        raise LowQualityFaceError(
            f"the face is nearly uniform (contrast {contrast:.1f}; "
            f"at least {limits.min_contrast:g} is needed)"
        )
    if sharpness < limits.min_sharpness:
        raise LowQualityFaceError(
            f"the face is too blurred (sharpness {sharpness:.3f}; "
            f"at least {limits.min_sharpness:g} is needed)"
        )


def crop_detail(crop: np.ndarray) -> tuple[float, float]:
    """Return the grey standard deviation and the brightness-free sharpness of a crop."""
    grey = crop if crop.ndim == 2 else crop[..., 0] if crop.shape[2] == 1 else None
    if grey is None:
        grey = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY)
    grey = grey.astype(np.float32)
    contrast = float(grey.std())
    laplacian = float(cv2.Laplacian(grey, cv2.CV_32F).std())
    return contrast, laplacian / max(contrast, 1e-6)


def landmark_misfit(landmarks: np.ndarray) -> float:
    """RMS distance, in template pixels, of the four landmarks from the fitted template."""
    points = np.asarray(landmarks, np.float64)[:4]
    template = template_points(TEMPLATE_SIZE)
    try:
        matrix = similarity_transform(points, template)
    except ValueError:
        return float("inf")
    mapped = points @ matrix[:, :2].T + matrix[:, 2]
    return float(np.sqrt(((mapped - template) ** 2).sum(axis=1).mean()))
