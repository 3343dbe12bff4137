"""Synthetic pictures without a face, for the no-face and face-quality checks.

``synthetic_nonfaces`` makes a few hundred deterministic images of the kinds a hostile or
careless client sends instead of a face: uniform colours, gradients, noise, text,
checkerboards, stripes, blurred blobs and half a face mirrored, in several sizes
and aspect ratios. The test suite and ``bench.face_quality`` both use them: none may be
embedded on any route.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import cv2
import numpy as np

SIZES = (
    (64, 64),
    (100, 100),
    (90, 110),
    (160, 160),
    (200, 300),
    (320, 240),
    (480, 640),
    (640, 480),
)
COLOURS = (
    (0, 0, 0),
    (255, 255, 255),
    (128, 128, 128),
    (200, 30, 30),
    (30, 200, 30),
    (30, 30, 200),
    (224, 172, 140),  # a skin tone
    (90, 60, 40),
    (255, 220, 0),
    (0, 128, 128),
    (250, 200, 200),
    (60, 60, 60),
)
WORDS = ("HELLO", "no face here", "ID 4711", "passport", "@#%&!")


def synthetic_nonfaces(face_rgb: np.ndarray | None = None) -> list[tuple[str, np.ndarray]]:
    """Return ``(name, uint8 RGB image)`` pairs, a few hundred, the same on every call.

    Args:
        face_rgb: A tight photo of a face; when given, its halves mirrored and its quarters
            are added (parts of a face that are no face).
    """
    makers: list[Callable[[], Iterator[tuple[str, np.ndarray]]]] = [
        _uniform,
        _gradients,
        _noise,
        _text,
        _checkerboards,
        _stripes,
        _blobs,
    ]
    images = [item for make in makers for item in make()]
    if face_rgb is not None:
        images += list(_face_parts(face_rgb))
    return images


def _uniform() -> Iterator[tuple[str, np.ndarray]]:
    for width, height in SIZES:
        for colour in COLOURS:
            yield f"uniform_{width}x{height}_{colour}", _canvas(width, height, colour)


def _gradients() -> Iterator[tuple[str, np.ndarray]]:
    for width, height in SIZES:
        x = np.linspace(0, 255, width, dtype=np.float32)[None, :].repeat(height, 0)
        y = np.linspace(0, 255, height, dtype=np.float32)[:, None].repeat(width, 1)
        radius = np.hypot(x - 128, y - 128)
        for name, channel in (("horizontal", x), ("vertical", y), ("radial", radius)):
            grey = np.clip(channel, 0, 255).astype(np.uint8)
            yield f"gradient_{name}_{width}x{height}", np.dstack([grey] * 3)
        tinted = np.dstack([x, y, 255 - x]).astype(np.uint8)
        yield f"gradient_colour_{width}x{height}", tinted


def _noise() -> Iterator[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(2026)
    for width, height in SIZES:
        yield f"noise_uniform_{width}x{height}", rng.integers(0, 256, (height, width, 3), np.uint8)
        grey = np.clip(rng.normal(128, 40, (height, width)), 0, 255).astype(np.uint8)
        yield f"noise_grey_{width}x{height}", np.dstack([grey] * 3)
        coarse = rng.integers(0, 256, (height // 8 + 1, width // 8 + 1, 3), np.uint8)
        blocks = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_NEAREST)
        yield f"noise_blocks_{width}x{height}", blocks
        yield f"noise_smooth_{width}x{height}", cv2.GaussianBlur(blocks, (0, 0), 6)


def _text() -> Iterator[tuple[str, np.ndarray]]:
    for width, height in SIZES:
        for index, word in enumerate(WORDS):
            image = _canvas(width, height, COLOURS[(index + 1) % len(COLOURS)])
            scale = width / 200
            origin = (width // 10, height // 2)
            cv2.putText(
                image, word, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (20, 20, 20), 2, cv2.LINE_AA
            )
            yield f"text_{index}_{width}x{height}", image


def _checkerboards() -> Iterator[tuple[str, np.ndarray]]:
    for width, height in SIZES:
        for cell in (2, 8, 16, 32):
            rows = (np.arange(height) // cell)[:, None]
            cols = (np.arange(width) // cell)[None, :]
            grey = (((rows + cols) % 2) * 255).astype(np.uint8)
            yield f"checkerboard_{cell}_{width}x{height}", np.dstack([grey] * 3)


def _stripes() -> Iterator[tuple[str, np.ndarray]]:
    for width, height in SIZES:
        for period in (4, 20):
            grey = ((np.arange(width) // period % 2) * 255).astype(np.uint8)
            yield f"stripes_{period}_{width}x{height}", np.dstack([np.tile(grey, (height, 1))] * 3)


def _blobs() -> Iterator[tuple[str, np.ndarray]]:
    """Dark ellipses on a skin-coloured oval: the layout of a face, none of its detail."""
    for width, height in SIZES:
        image = _canvas(width, height, (230, 230, 230))
        centre, side = (width // 2, height // 2), min(width, height)
        cv2.ellipse(image, centre, (side // 3, side * 2 // 5), 0, 0, 360, COLOURS[6], -1)
        for dx in (-side // 8, side // 8):
            cv2.circle(image, (centre[0] + dx, centre[1] - side // 10), side // 20, (40,) * 3, -1)
        cv2.ellipse(image, (centre[0], centre[1] + side // 6), (side // 8, side // 30), 0, 0, 360,
                    (120, 40, 40), -1)  # fmt: skip
        yield f"blob_face_{width}x{height}", image
        yield f"blob_face_blurred_{width}x{height}", cv2.GaussianBlur(image, (0, 0), side / 15)


def _face_parts(face_rgb: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
    """Half a face mirrored (alone, and on a canvas of the photo's size), and its quarters."""
    height, width = face_rgb.shape[:2]
    for side, half in (("left", face_rgb[:, : width // 2]), ("right", face_rgb[:, width // 2 :])):
        mirrored = np.ascontiguousarray(half[:, ::-1])
        yield f"half_face_mirrored_{side}", mirrored
        framed = _canvas(width, height, (128, 128, 128))
        framed[:, : mirrored.shape[1]] = mirrored
        yield f"half_face_mirrored_{side}_framed", framed
    upper = np.ascontiguousarray(face_rgb[: height // 2, ::-1])
    yield "upper_half_mirrored", upper
    for row in range(2):
        for col in range(2):
            quarter = face_rgb[row * height // 2 : (row + 1) * height // 2,
                               col * width // 2 : (col + 1) * width // 2]  # fmt: skip
            yield f"face_quarter_{row}{col}", np.ascontiguousarray(quarter)


def _canvas(width: int, height: int, colour: tuple[int, int, int]) -> np.ndarray:
    return np.full((height, width, 3), colour, np.uint8)
