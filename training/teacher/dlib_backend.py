"""The teacher through dlib itself: dlib's landmarks and 150x150 chips, dlib's ResNet.

The teacher is dlib's face-recognition ResNet (public domain; PyPI ``dlib-bin`` +
``face-recognition-models``), used for training only: the service never loads it. It is
given the input it was built for: dlib's own 5-point landmarks, found inside the face box
that ``prepare`` detected on the *original* photo, then dlib's 150x150 face chip of that
photo (not our 112x112 crop). Crops that ``prepare`` made by centre-cropping an already
cropped face use the central square as the box. The ``dlib`` backend of ``training teacher``
(:mod:`training.commands.teacher`); ``training morph`` and the benchmarks cut and embed chips with
it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from facecore.decode import decode_image
from facecore.errors import InvalidImageError
from training.crops.cache import MAX_FILE_BYTES, MAX_PIXELS
from training.data.vectors import unit_rows
from training.teacher import cache as teacher_cache

TEACHER = teacher_cache.TeacherInfo(
    name="dlib_face_recognition_resnet_model_v1",
    dimension=128,
    alignment="dlib 5-point landmarks in the prepare box of the original photo",
)


def teacher_info(view: str) -> teacher_cache.TeacherInfo:
    """Return the teacher record of one view: the mirror view says its chips were mirrored."""
    if view == teacher_cache.ORIGINAL:
        return TEACHER
    return replace(TEACHER, alignment=f"{TEACHER.alignment}, chip mirrored left to right")


def require_teacher() -> None:
    """Fail with the install command when dlib or its models are missing."""
    try:
        import dlib  # noqa: F401
        import face_recognition_models  # noqa: F401
    except ImportError as error:
        raise OSError(
            f"{error}; install it with `make install-test` (the `teacher` extra)"
        ) from None


_MODELS: tuple | None = None


def load_teacher() -> None:
    """Load dlib's landmark model and face-recognition ResNet once per process."""
    global _MODELS
    import dlib
    import face_recognition_models as files

    _MODELS = (
        dlib.shape_predictor(files.pose_predictor_five_point_model_location()),
        dlib.face_recognition_model_v1(files.face_recognition_model_location()),
    )


def embed_chunk(
    entries: list[dict], mirror: bool = False
) -> tuple[list[str], np.ndarray, list[dict]]:
    """Embed one chunk (each chip mirrored if asked); a failing image becomes a record."""
    keys, vectors, failures = [], [], []
    for entry in entries:
        try:
            chip = face_chip(Path(entry["path"]), entry.get("box"))
            vectors.append(embed_chip(np.ascontiguousarray(chip[:, ::-1]) if mirror else chip))
            keys.append(entry["crop"])
        except (InvalidImageError, OSError, ValueError) as error:
            failures.append({"crop": entry["crop"], "path": entry["path"], "error": str(error)})
    matrix = np.stack(vectors) if vectors else np.zeros((0, TEACHER.dimension), np.float32)
    return keys, matrix, failures


def embed_photo(path: Path, box: list[float] | None) -> np.ndarray:
    """Embed the face in ``box`` of the photo at ``path`` with the teacher (unit length).

    Raises:
        InvalidImageError: The photo cannot be decoded.
        ValueError: The teacher's vector is degenerate.
    """
    return embed_chip(face_chip(path, box))


def face_chip(path: Path, box: list[float] | None) -> np.ndarray:
    """Cut dlib's own 150x150 aligned chip (uint8 RGB) of the face in ``box`` of a photo.

    Raises:
        InvalidImageError: The photo cannot be decoded.
    """
    import dlib

    assert _MODELS is not None, "call load_teacher() first"
    rgb = decode_image(path.read_bytes(), max_bytes=MAX_FILE_BYTES, max_pixels=MAX_PIXELS)
    left, top, right, bottom = _dlib_box(box, rgb.shape)
    shape_predictor, _ = _MODELS
    landmarks = shape_predictor(rgb, dlib.rectangle(left, top, right, bottom))
    return dlib.get_face_chip(rgb, landmarks)


def embed_chip(chip: np.ndarray) -> np.ndarray:
    """Embed one aligned 150x150 chip with the teacher (unit length).

    Raises:
        ValueError: The teacher's vector is degenerate.
    """
    assert _MODELS is not None, "call load_teacher() first"
    _, recogniser = _MODELS
    vector = np.asarray(recogniser.compute_face_descriptor(chip), np.float32)
    norm = float(np.linalg.norm(vector))
    if not np.isfinite(norm) or norm < 1e-6:
        raise ValueError("teacher returned a degenerate vector")
    return unit_rows(vector[None])[0]


def _dlib_box(box: list[float] | None, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """``(left, top, right, bottom)``: the prepare box, or the central square without one."""
    height, width = shape[:2]
    if box is None:
        side = min(height, width)
        left, top = (width - side) // 2, (height - side) // 2
        return left, top, left + side - 1, top + side - 1
    x, y, w, h = box
    return round(x), round(y), round(x + w), round(y + h)
