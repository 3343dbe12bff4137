"""1:1 comparison of a probe with one person's templates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.gallery.records import Template


@dataclass(frozen=True)
class PersonMatch:
    """A probe against a person's templates."""

    similarity: float
    mean_similarity: float
    face_id: str
    templates: int


def match_person(templates: Sequence[Template], probe: np.ndarray) -> PersonMatch:
    """Cosines of the probe with each template (all L2-normalised): best, mean, which one."""
    matrix = np.stack([template.embedding for template in templates]).astype(np.float32)
    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    scores = np.clip(matrix @ (probe / max(float(np.linalg.norm(probe)), 1e-12)), -1.0, 1.0)
    best = int(np.argmax(scores))
    return PersonMatch(
        float(scores[best]), float(scores.mean()), templates[best].face_id, len(templates)
    )
