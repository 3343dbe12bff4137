"""Score pairs with an exported model, and store the operating points it is calibrated at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from facecore.metadata import ModelMetadata
from training.data.pairs import Pair, pair_rows
from training.evaluation.calibration import operating_points, with_operating_points
from training.evaluation.verification import VerificationReport, cosine_similarities

SCORE_CHUNK = 65_536  # pairs scored per matrix product


def score_pairs(embedder: Any, pairs: list[Pair], batch_size: int) -> np.ndarray:
    """Embed every distinct image once and return the cosine similarity of each pair.

    Pairs are scored in chunks, so millions of impostor pairs (FAR 1e-5) fit in memory.
    """
    paths, first, second = pair_rows(pairs)
    embeddings = embedder.embed_files(paths, batch_size)
    chunks = [
        cosine_similarities(
            embeddings[first[i : i + SCORE_CHUNK]], embeddings[second[i : i + SCORE_CHUNK]]
        )
        for i in range(0, len(pairs), SCORE_CHUNK)
    ]
    return np.concatenate(chunks) if chunks else np.empty(0, np.float32)


def fold_ids(pairs: list[Pair]) -> np.ndarray | None:
    """Return the pairs file's folds, or None to let the metrics draw seeded folds."""
    if any(pair.fold is None for pair in pairs):
        return None
    return np.array([pair.fold for pair in pairs])


def calibrate(
    model_dir: Path,
    metadata: ModelMetadata,
    labels: np.ndarray,
    scores: np.ndarray,
    report: VerificationReport,
    source: str,
) -> None:
    """Store the operating points and the evaluation figures in ``metadata.json``.

    The default threshold becomes the best-accuracy point (:mod:`training.evaluation.calibration`).
    """
    points = operating_points(labels, scores)
    evaluation = {"source": source, **report.to_dict()}
    calibrated = with_operating_points(metadata, points, source)
    calibrated.model_copy(update={"evaluation": evaluation}).save(model_dir)
    for point in points:
        print(
            f"operating point {point.name}: cosine {point.cosine:.4f}, TAR {point.tar:.4f}, "
            f"FAR {point.far:.5f}"
        )
    print(
        f"calibrated {model_dir / 'metadata.json'}: default threshold "
        f"{calibrated.threshold.cosine:.4f}"
    )
