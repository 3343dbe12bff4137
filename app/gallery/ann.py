"""An approximate shortlist for large galleries: an inverted-file index (faiss IVF, 8-bit).

Exact search reads every template per probe, so its cost grows with the gallery. Past
``FACEVERIFY_ANN_MIN_TEMPLATES`` the index also keeps an IVF index over the same templates
(k-means cells, vectors quantised to 8 bits): a probe scans only the ``nprobe`` nearest cells for
a shortlist, and the shortlist is re-scored exactly from the float32 matrix, so similarities are
exact and only recall is approximate (``bench/bench_gallery_search.py`` measures recall@1
against exact search). The cells are learned once, from the templates present when the gallery
first passes the size; faiss is imported only then.
"""

from __future__ import annotations

import math

import numpy as np

_TRAINING_POINTS_PER_CELL = 40


class AnnShortlist:
    """IVF + 8-bit scalar quantiser over unit vectors, searched by inner product."""

    def __init__(self, dimension: int, nprobe: int) -> None:
        self.dimension, self.nprobe = dimension, nprobe
        self._index = None

    @property
    def built(self) -> bool:
        """Whether the cells have been learned and the templates added."""
        return self._index is not None

    def build(self, vectors: np.ndarray, labels: np.ndarray) -> None:
        """Learn the cells from ``vectors`` and add them under int64 ``labels``."""
        import faiss

        cells = max(
            1,
            min(
                16_384, int(4 * math.sqrt(len(vectors))), len(vectors) // _TRAINING_POINTS_PER_CELL
            ),
        )
        quantiser = faiss.IndexFlatIP(self.dimension)
        index = faiss.IndexIVFScalarQuantizer(
            quantiser,
            self.dimension,
            cells,
            faiss.ScalarQuantizer.QT_8bit,
            faiss.METRIC_INNER_PRODUCT,
        )
        sample = np.random.default_rng(0).permutation(len(vectors))[
            : cells * _TRAINING_POINTS_PER_CELL
        ]
        index.train(np.ascontiguousarray(vectors[np.sort(sample)]))
        index.add_with_ids(np.ascontiguousarray(vectors), labels.astype(np.int64))
        self._quantiser, self._index = quantiser, index

    def add(self, vectors: np.ndarray, labels: np.ndarray) -> None:
        """Add templates (the cells stay as learned)."""
        self._index.add_with_ids(np.ascontiguousarray(vectors, np.float32), labels.astype(np.int64))

    def remove(self, labels: np.ndarray) -> None:
        """Remove templates by label."""
        self._index.remove_ids(labels.astype(np.int64))

    def shortlist(self, probe: np.ndarray, size: int) -> np.ndarray:
        """Labels of up to ``size`` templates likely nearest to ``probe``."""
        self._index.nprobe = min(self.nprobe, self._index.nlist)
        _, labels = self._index.search(probe.reshape(1, -1).astype(np.float32), size)
        return labels[0][labels[0] >= 0]
