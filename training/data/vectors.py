"""L2 normalisation of embeddings: the one training, evaluation and the research tools use."""

from __future__ import annotations

import numpy as np


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Each row scaled to unit length; an all-zero row stays zero (never NaN)."""
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
