"""Face alignment: a similarity transform from detected landmarks to a named template.

Two framings of the face are known: ``arcface`` (the standard ArcFace 112x112 template: the
face low in the crop, chin at the edge) and ``dlib_chip`` (the framing of dlib's 150x150
face chips, which the training teacher was built for: eyes a third of the way down, chin in).
"""

from __future__ import annotations

import cv2
import numpy as np

TEMPLATE_SIZE = 112
# The standard ArcFace 112x112 five-point template: eye on the image's left, eye on the
# image's right, nose tip, mouth corner left, mouth corner right.
ARCFACE_FIVE_POINTS = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float32,
)
# The four points BlazeFace gives (both eyes, nose tip, mouth centre); the mouth centre
# is the mean of the template's two mouth corners.
FOUR_POINT_TEMPLATE = np.vstack(
    [ARCFACE_FIVE_POINTS[:3], ARCFACE_FIVE_POINTS[3:].mean(axis=0, keepdims=True)]
)
# Where BlazeFace finds the four points in dlib's face chips (``dlib.get_face_chip``, 150 px,
# padding 0.25), scaled to 112 px and made left-right symmetric: the mean over 997 chips of
# training photos (CelebA, FRLL, Taiwanese), spread 3 to 5 px per coordinate.
DLIB_CHIP_FOUR_POINTS = np.array(
    [[35.13, 34.08], [76.87, 34.08], [56.0, 57.49], [56.0, 78.4]], dtype=np.float32
)
TEMPLATES = {"arcface": FOUR_POINT_TEMPLATE, "dlib_chip": DLIB_CHIP_FOUR_POINTS}
DEFAULT_ALIGNMENT = "arcface"


def template_points(size: int, alignment: str = DEFAULT_ALIGNMENT) -> np.ndarray:
    """Return a four-point template (float32 (4, 2)) scaled to a ``size`` x ``size`` crop.

    Raises:
        ValueError: ``alignment`` is not one of ``TEMPLATES``.
    """
    if alignment not in TEMPLATES:
        raise ValueError(f"unknown alignment {alignment!r}; known: {sorted(TEMPLATES)}")
    return TEMPLATES[alignment] * (size / TEMPLATE_SIZE)


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, shift) mapping source onto target.

    Umeyama (1991), "Least-squares estimation of transformation parameters between two
    point patterns", without reflections; in two dimensions its rotation and scale are the
    complex ratio ``sum(conj(s) * t) / sum(|s|^2)`` of the centred points (closed form, no SVD:
    the transform is fitted four times a photo).

    Args:
        source: (K, 2) points, K >= 2.
        target: (K, 2) corresponding points.

    Returns:
        The 2x3 float64 affine matrix.

    Raises:
        ValueError: The source points are degenerate (all identical) or not finite.
    """
    src = np.asarray(source, np.float64).tolist()  # a few points: Python floats beat numpy
    dst = np.asarray(target, np.float64).tolist()
    count = len(src)
    mx, my = sum(x for x, _ in src) / count, sum(y for _, y in src) / count
    nx, ny = sum(u for u, _ in dst) / count, sum(v for _, v in dst) / count
    norm = real = imag = 0.0
    for (x, y), (u, v) in zip(src, dst, strict=True):
        x, y, u, v = x - mx, y - my, u - nx, v - ny
        norm, real, imag = norm + x * x + y * y, real + x * u + y * v, imag + x * v - y * u
    if not norm >= 1e-12 * count:  # NaN too
        raise ValueError("cannot fit a similarity transform to coincident or non-finite points")
    a, b = real / norm, imag / norm
    return np.array([[a, -b, nx - (a * mx - b * my)], [b, a, ny - (b * mx + a * my)]])


def align_face(
    rgb: np.ndarray,
    landmarks: np.ndarray,
    size: int = TEMPLATE_SIZE,
    alignment: str = DEFAULT_ALIGNMENT,
) -> np.ndarray:
    """Warp the face so its eyes, nose tip and mouth centre land on the template.

    Args:
        rgb: uint8 (H, W, 3) image the landmarks refer to.
        landmarks: (K >= 4, 2) BlazeFace keypoints in image pixels; the first four
            (image-left eye, image-right eye, nose tip, mouth centre) are used.
        size: Side of the square output.
        alignment: The template's name (``TEMPLATES``).

    Returns:
        uint8 (size, size, 3) aligned crop; area outside the image is black.
    """
    points = np.asarray(landmarks, np.float32)[:4]
    matrix = similarity_transform(points, template_points(size, alignment))
    return cv2.warpAffine(
        rgb,
        matrix,
        (size, size),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
