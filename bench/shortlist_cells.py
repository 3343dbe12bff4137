"""How much the IVF shortlist's recall moves with the sample its cells are learned from.

The index learns its cells from the templates it holds; held as float16, the sample is the
float32 one rounded, so k-means ends in other cells and the shortlist misses other probes.
To tell that from the storage itself, the same :class:`~app.gallery.ann.AnnShortlist` is
learned from: the service's sample as float32, the same rows rounded to float16, and two other
samples of float32 rows; each shortlist is scored from float32 rows, recall@1 (same person
first) against exact search over all templates. Used by ``bench.bench_template_precision``.
"""

from __future__ import annotations

import numpy as np

from app.gallery.ann import TRAINING_POINTS_PER_CELL, AnnShortlist, cells_for, training_rows

PROBES_PER_BLOCK = 100  # exact truth: one (templates x 100) product at a time


def exact_best(matrix: np.ndarray, probes: np.ndarray) -> np.ndarray:
    """Row of the best template for each probe (exact, float32)."""
    best = [
        np.argmax(matrix @ probes[start : start + PROBES_PER_BLOCK].T, axis=0)
        for start in range(0, len(probes), PROBES_PER_BLOCK)
    ]
    return np.concatenate(best)


def shortlist_recall(
    matrix: np.ndarray, sample: np.ndarray, probes: np.ndarray, truth: np.ndarray, nprobe: int
) -> float:
    """Recall@1 (person: rows // 2) of a shortlist learned from ``sample``."""
    shortlist = AnnShortlist(matrix.shape[1], cells_for(len(matrix)), nprobe)
    shortlist.train(sample)
    shortlist.add(matrix, np.arange(len(matrix), dtype=np.int64))
    hits = 0
    for probe, row in zip(probes, truth, strict=True):
        rows = shortlist.shortlist(probe, 64)
        found = rows[np.argmax(matrix[rows] @ probe)]
        hits += int(found // 2 == row // 2)
    return hits / len(probes)


def cells_noise(matrix: np.ndarray, probes: np.ndarray, nprobe: int = 256) -> dict[str, float]:
    """Recall@1 of shortlists learned from four samples (see the module's docstring)."""
    truth = exact_best(matrix, probes)
    cells = cells_for(len(matrix))
    rows = training_rows(len(matrix), cells)
    samples = {"service sample, float32": matrix[rows]}
    samples["service sample, float16"] = matrix[rows].astype(np.float16).astype(np.float32)
    for seed in (1, 2):
        other = np.random.default_rng(seed).permutation(len(matrix))
        samples[f"other sample {seed}, float32"] = matrix[
            np.sort(other[: cells * TRAINING_POINTS_PER_CELL])
        ]
    results = {}
    for name, sample in samples.items():
        results[name] = shortlist_recall(matrix, sample, probes, truth, nprobe)
        print(name, results[name], flush=True)
    return results
