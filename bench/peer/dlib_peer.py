"""The peer: ``face_recognition`` (dlib HOG detector + dlib ResNet, 128-d, euclidean)."""

from __future__ import annotations

import importlib.util
import multiprocessing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

PEER_PACKAGES = ("dlib", "face_recognition_models", "face_recognition")
INSTALL_HINT = (
    ".venv/bin/pip install dlib-bin face-recognition-models 'setuptools<81' && "
    ".venv/bin/pip install --no-deps face_recognition   (or: make peer)"
)


def peer_missing() -> str | None:
    """Say why the peer cannot run, or None when it can.

    ``face_recognition`` calls ``quit()`` at import time when its models package cannot
    be imported (it also needs ``pkg_resources``), so everything is looked up first.

    Returns:
        A message naming the missing packages and the install command, or None.
    """
    missing = [name for name in PEER_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        return f"peer skipped: {', '.join(missing)} not installed; install with: {INSTALL_HINT}"
    if importlib.util.find_spec("pkg_resources") is None:
        return (
            "peer skipped: face_recognition_models needs pkg_resources, which this "
            "setuptools lacks; install with: .venv/bin/pip install 'setuptools<81'"
        )
    return None


def _largest(locations: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
    """The largest (top, right, bottom, left) box: the labelled person is usually the largest."""
    return max(locations, key=lambda box: (box[2] - box[0]) * (box[1] - box[3]))


@dataclass
class DlibPeer:
    """``face_recognition.face_locations`` (HOG) + ``face_encodings`` on the largest face.

    Attributes:
        upsample: Times the HOG detector upsamples the image (library default 1).
        jitters: Re-samplings averaged per encoding (library default 1).
    """

    upsample: int = 1
    jitters: int = 1
    name: str = "face_recognition (dlib)"
    metric: str = "euclidean"
    _api: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        reason = peer_missing()
        if reason:
            raise ImportError(reason)
        from PIL import ImageFile

        strict = ImageFile.LOAD_TRUNCATED_IMAGES
        import face_recognition

        # face_recognition sets PIL's process-wide LOAD_TRUNCATED_IMAGES = True at import,
        # which would make our decoder accept truncated files; both systems get their pixels
        # from facecore.decode_image, so restore the strict setting.
        ImageFile.LOAD_TRUNCATED_IMAGES = strict
        self._api = face_recognition

    def embed(self, rgb: np.ndarray) -> np.ndarray | None:
        """Detect faces with HOG and encode the largest one.

        Args:
            rgb: uint8 (H, W, 3) RGB image.

        Returns:
            The 128-d encoding, or None when HOG finds no face.
        """
        image = np.ascontiguousarray(rgb, dtype=np.uint8)
        locations = self._api.face_locations(image, self.upsample, model="hog")
        if not locations:
            return None
        encodings = self._api.face_encodings(image, [_largest(locations)], self.jitters)
        return np.asarray(encodings[0], dtype=np.float32)


_WORKER_PEER: DlibPeer | None = None  # the peer of a worker process of dlib_processes


def _start_worker() -> None:
    global _WORKER_PEER
    _WORKER_PEER = DlibPeer()


def _embed_file(path: Path) -> np.ndarray | None:
    with Image.open(path) as image:
        rgb = np.asarray(image.convert("RGB"))
    return _WORKER_PEER.embed(rgb)


@contextmanager
def dlib_processes(processes: int) -> Iterator[Callable[..., list[np.ndarray | None]]]:
    """``face_recognition`` in ``processes`` spawned workers, each loading its own models.

    Yields ``embed(paths, chunksize=1)``: each file's encoding (its decode, HOG, the largest
    face), None where HOG finds no face.

    Raises:
        ImportError: The peer is not installed (checked first: a worker failing to start would
            be replaced, and fail, for ever).
    """
    if reason := peer_missing():
        raise ImportError(reason)
    with multiprocessing.get_context("spawn").Pool(processes, initializer=_start_worker) as pool:
        yield lambda paths, chunksize=1: pool.map(_embed_file, paths, chunksize=chunksize)
