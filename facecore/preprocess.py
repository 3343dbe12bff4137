"""The one path from an image to the model's input pixels, shared by training and serving.

``FacePreprocessor.process`` = detect -> choose a face -> align -> ``to_model_input``.
Training's ``prepare`` caches ``align_crop`` results and its data pipeline then calls
``to_model_input`` on the cached crops, so both sides feed the model identical pixels.

Fallbacks, in order, when the detector finds no face (``no_face_policy``):

1. ``"padded"``: detect again on the image with a black border of ``pad_fraction`` of its
   longest side on every side. BlazeFace misses faces that fill the whole frame; the
   border gives them context. On samples of 200 ORL and 202 Extended Yale B images the
   short-range model finds 100 % / 65 % without a border and 100 % / 100 % with a 25 %
   black one (grey or replicated borders, or the full-range model, did worse).
2. ``"padded_or_center"`` (default): as above, then, for a small crop-like image (longest
   side <= ``crop_like_max_side``, width/height in ``crop_like_aspect``), the centre square
   resized to the output size (e.g. an almost black Extended Yale B image). On all 2,414
   Extended Yale B images: 1,709 detected, 685 padded, 20 centre crops; ORL: 400 detected.
3. ``"error"``: no fallback.

Anything still without a face raises ``NoFaceError``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from facecore.align import align_face
from facecore.detect import Face, FaceDetector
from facecore.errors import MultipleFacesError, NoFaceError
from facecore.face_geometry import bounded_copy, scale_face, shift_face
from facecore.preprocess_config import PreprocessConfig

# ``largest`` looks only at faces at least this confident relative to the best: a bigger, far less
# sure box is usually a torso in a full-body photo (`python -m bench.face_choice`: right face in
# 97 of 102 CelebA photos with several detections, against 74 for the largest box).
CONFIDENT_FRACTION = 0.9
DETECTION_MAX_SIDE = 1024  # detection runs on a copy at most this large (BlazeFace sees <= 192)


def largest_confident_face(faces: list[Face], fraction: float = CONFIDENT_FRACTION) -> Face:
    """Return the largest of ``faces`` at least ``fraction`` as confident as the best one."""
    best = max(face.confidence for face in faces)
    return max((f for f in faces if f.confidence >= fraction * best), key=lambda f: f.area)


def to_model_input(crop_rgb: np.ndarray, size: int, channels: int) -> np.ndarray:
    """Turn an aligned RGB face crop into the model's input pixels.

    Training calls this on cached crops and the service on freshly aligned ones, so both
    feed the model identical pixels. Scaling to [-1, 1] happens inside the model graph.

    Args:
        crop_rgb: Aligned face, uint8 (H, W, 3) RGB, or (H, W) / (H, W, 1) grey.
        size: Side of the square model input in pixels.
        channels: 1 (grey, ITU-R BT.601 luma) or 3 (RGB).

    Returns:
        uint8 array of shape (size, size, channels).
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    image = np.asarray(crop_rgb, dtype=np.uint8)
    if image.ndim == 2:
        image = image[..., None]
    if image.shape[:2] != (size, size):
        shrinking = image.shape[0] > size or image.shape[1] > size
        interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        image = cv2.resize(image, (size, size), interpolation=interpolation)
        if image.ndim == 2:
            image = image[..., None]
    if channels == 1 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[..., None]
    elif channels == 3 and image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image)


@dataclass(frozen=True, eq=False)  # holds arrays: compare by identity
class PreparedFace:
    """A face ready for the model (``process``) or for the crop cache (``align_crop``).

    Attributes:
        pixels: uint8 (size, size, channels) model input, or (size, size, 3) RGB crop.
        face: The detection used, in the input image's pixels; None for a centre crop.
        faces_detected: How many faces the detector found.
        fallback: True when plain detection found nothing and a fallback produced the crop.
        method: ``detected``, ``padded`` or ``center``.
        faces: Every face the detector found, in the input image's pixels, in detection order
            (``face`` is one of them); empty for a centre crop.
    """

    pixels: np.ndarray
    face: Face | None
    faces_detected: int
    fallback: bool
    method: str
    faces: tuple[Face, ...] = ()


class FacePreprocessor:
    """Detect, choose, align: the same code for the crop cache and for the service.

    Args:
        config: The preprocessing options.
        detector: A detector to share; by default one is built from ``config``.
    """

    def __init__(self, config: PreprocessConfig, detector: FaceDetector | None = None) -> None:
        self.config = config
        self.detector = detector or FaceDetector(
            config.detector_models, config.min_confidence, config.nms_iou
        )

    def process(self, rgb: np.ndarray) -> PreparedFace:
        """Image -> model input pixels (size, size, channels).

        Raises:
            NoFaceError: No face and no applicable fallback.
            MultipleFacesError: Several faces under the ``reject`` policy.
        """
        aligned = self.align_crop(rgb)
        pixels = to_model_input(aligned.pixels, self.config.size, self.config.channels)
        return PreparedFace(
            pixels,
            aligned.face,
            aligned.faces_detected,
            aligned.fallback,
            aligned.method,
            aligned.faces,
        )

    def align_crop(self, rgb: np.ndarray) -> PreparedFace:
        """Image -> aligned RGB crop (size, size, 3), as cached by ``training prepare``.

        Raises:
            NoFaceError: No face and no applicable fallback.
            MultipleFacesError: Several faces under the ``reject`` policy.
        """
        faces, method = self.find_faces(rgb)
        if faces:
            face = self.choose(faces)
            crop = align_face(rgb, face.landmarks, self.config.size, self.config.alignment)
            return PreparedFace(crop, face, len(faces), method != "detected", method, tuple(faces))
        if self.config.no_face_policy == "padded_or_center" and self._is_crop_like(rgb):
            return PreparedFace(self._center_crop(rgb), None, 0, True, "center")
        raise NoFaceError("no face found in the image")

    def model_input_of(self, rgb: np.ndarray, face: Face) -> np.ndarray:
        """Return the model input pixels of one of ``find_faces``' faces: aligned, converted."""
        crop = align_face(rgb, face.landmarks, self.config.size, self.config.alignment)
        return to_model_input(crop, self.config.size, self.config.channels)

    def find_faces(self, rgb: np.ndarray) -> tuple[list[Face], str]:
        """Detect on the image, then, if the policy allows, on the image with a border.

        Both passes run on a copy no larger than ``DETECTION_MAX_SIDE`` (the detector sees at
        most 192x192 anyway), so a huge or elongated image costs a bounded amount of memory
        and time; the faces found are mapped back to the full image's pixels.
        """
        small, factor = bounded_copy(rgb, DETECTION_MAX_SIDE)
        faces, method = self.detector.detect(small), "detected"
        if not faces and self.config.no_face_policy != "error":
            faces, method = self._detect_padded(small), "padded"
        return [scale_face(face, factor, rgb.shape) for face in faces], method

    def _detect_padded(self, rgb: np.ndarray) -> list[Face]:
        """Detect on ``rgb`` with a black border of ``pad_fraction`` of its longest side."""
        pad = round(self.config.pad_fraction * max(rgb.shape[:2]))
        if pad == 0:
            return []
        padded = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
        return [shift_face(face, -pad, rgb.shape) for face in self.detector.detect(padded)]

    def choose(self, faces: list[Face]) -> Face:
        """Pick one face according to ``face_policy``."""
        if len(faces) > 1 and self.config.face_policy == "reject":
            raise MultipleFacesError(f"{len(faces)} faces found; exactly one is required")
        if self.config.face_policy == "most_confident":
            return max(faces, key=lambda face: face.confidence)
        return largest_confident_face(faces)

    def _is_crop_like(self, rgb: np.ndarray) -> bool:
        """Small and portrait-to-square: plausibly an already cropped face."""
        height, width = rgb.shape[:2]
        low, high = self.config.crop_like_aspect
        small = max(height, width) <= self.config.crop_like_max_side
        return small and low <= width / height <= high

    def _center_crop(self, rgb: np.ndarray) -> np.ndarray:
        """Cut the centred square of the image resized to the crop size, RGB uint8."""
        height, width = rgb.shape[:2]
        side = min(height, width)
        top, left = (height - side) // 2, (width - side) // 2
        square = np.ascontiguousarray(rgb[top : top + side, left : left + side])
        return to_model_input(square, self.config.size, 3)
