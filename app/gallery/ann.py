"""An approximate shortlist for large galleries: an inverted-file index (faiss IVF, 8-bit).

Exact search reads every template per probe, so its cost grows with the gallery. Past
``FACEVERIFY_ANN_MIN_TEMPLATES`` the index also keeps an IVF index over the same templates
(k-means cells, vectors quantised to 8 bits): a probe scans only the ``nprobe`` nearest cells for
a shortlist, and the shortlist is re-scored exactly from the float32 matrix, so similarities are
exact and only recall is approximate (``bench/bench_gallery_search.py`` measures recall@1
against exact search). The number of cells follows the gallery (about 4 sqrt(N)); the index
re-learns them in the background when the gallery has grown :data:`RELEARN_GROWTH` times
(:mod:`app.gallery.index`). faiss is imported only when a shortlist is first built.
"""

from __future__ import annotations

import math

import numpy as np

TRAINING_POINTS_PER_CELL = 40
MAX_CELLS = 16_384
RELEARN_GROWTH = 4  # cells ~ sqrt(N): 4x the templates, twice the cells


def cells_for(templates: int) -> int:
    """IVF cells for a gallery of ``templates``: ~4 sqrt(N), each trained on 40+ points."""
    return max(
        1,
        min(MAX_CELLS, int(4 * math.sqrt(templates)), templates // TRAINING_POINTS_PER_CELL),
    )


def training_rows(templates: int, cells: int) -> np.ndarray:
    """Seeded, sorted sample of the rows the cells are learned from."""
    sample = np.random.default_rng(0).permutation(templates)[: cells * TRAINING_POINTS_PER_CELL]
    return np.sort(sample)


class AnnShortlist:
    """IVF + 8-bit scalar quantiser over unit vectors, searched by inner product."""

    def __init__(self, dimension: int, cells: int, nprobe: int) -> None:
        """Args: cells: k-means cells to learn; nprobe: cells a probe scans."""
        import faiss

        self.dimension, self.cells, self.nprobe = dimension, cells, nprobe
        self._quantiser = faiss.IndexFlatIP(dimension)
        self._index = faiss.IndexIVFScalarQuantizer(
            self._quantiser,
            dimension,
            cells,
            faiss.ScalarQuantizer.QT_8bit,
            faiss.METRIC_INNER_PRODUCT,
        )

    def train(self, sample: np.ndarray) -> None:
        """Learn the cells (k-means) and the quantiser from ``sample``: the expensive step."""
        self._index.train(np.ascontiguousarray(sample, np.float32))

    def add(self, vectors: np.ndarray, labels: np.ndarray) -> None:
        """Add templates under int64 ``labels`` (the cells stay as learned)."""
        self._index.add_with_ids(np.ascontiguousarray(vectors, np.float32), labels.astype(np.int64))

    def remove(self, labels: np.ndarray) -> None:
        """Remove templates by label."""
        self._index.remove_ids(np.asarray(labels, np.int64))

    def shortlist(self, probe: np.ndarray, size: int) -> np.ndarray:
        """Labels of up to ``size`` templates likely nearest to ``probe``."""
        self._index.nprobe = min(self.nprobe, self._index.nlist)
        _, labels = self._index.search(probe.reshape(1, -1).astype(np.float32), size)
        return labels[0][labels[0] >= 0]
