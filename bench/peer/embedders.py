"""A common shape for "image in, embedding out" systems, timed per image."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from tqdm import tqdm

from facecore.decode import decode_image


@dataclass(frozen=True)
class Embedded:
    """One image through one system: its embedding (None = no face found) and the times taken.

    ``seconds`` covers detection + embedding (or the whole HTTP round trip);
    ``decode_seconds`` the decoding of the file into pixels, when done in process.
    """

    embedding: np.ndarray | None
    seconds: float
    decode_seconds: float = 0.0


class Embedder(Protocol):
    """A face system under test: detection + embedding of one decoded RGB image."""

    name: str
    #: ``"cosine"`` (higher = same person) or ``"euclidean"`` (lower = same person).
    metric: str

    def embed(self, rgb: np.ndarray) -> np.ndarray | None:
        """Return the embedding of the main face, or None when no face is found."""
        ...


def timed(function: Callable[[], np.ndarray | None]) -> Embedded:
    """Run ``function`` once and record its wall-clock time.

    Args:
        function: Produces an embedding or None.

    Returns:
        The embedding and the seconds it took.
    """
    start = time.perf_counter()
    embedding = function()
    return Embedded(embedding, time.perf_counter() - start)


def embed_file(embedder: Embedder, path: Path) -> Embedded:
    """Decode one file with ``facecore.decode`` and embed it, timing both steps.

    Both systems get the very same decoded pixels (EXIF orientation applied).

    Args:
        embedder: The system under test.
        path: The raw image file.

    Returns:
        The embedding (None when no face was found) and the decode and embed times.
    """
    data = path.read_bytes()
    start = time.perf_counter()
    rgb = decode_image(data)
    decode_seconds = time.perf_counter() - start
    result = timed(lambda: embedder.embed(rgb))
    return Embedded(result.embedding, result.seconds, decode_seconds)


def embed_files(embedder: Embedder, paths: Sequence[Path], progress: bool = True) -> list[Embedded]:
    """Embed every file with one system, one at a time, after one untimed warm-up call.

    Args:
        embedder: The system under test.
        paths: Raw image files.
        progress: Show a progress bar on stderr.

    Returns:
        One :class:`Embedded` per file, in order.
    """
    embed_file(embedder, paths[0])
    return [
        embed_file(embedder, path)
        for path in tqdm(paths, desc=embedder.name, disable=not progress, leave=False)
    ]
