"""A common shape for "image in, embedding out" systems, timed per image."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Embedded:
    """One image through one system: its embedding (None = no face found) and the time taken."""

    embedding: np.ndarray | None
    seconds: float


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


def embed_all(embedder: Embedder, images: Sequence[np.ndarray]) -> list[Embedded]:
    """Embed every image with one system, one at a time, timing each.

    Args:
        embedder: The system under test.
        images: Decoded RGB images.

    Returns:
        One :class:`Embedded` per image, in order.
    """
    return [timed(lambda image=image: embedder.embed(image)) for image in images]
