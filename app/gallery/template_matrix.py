"""The rows of templates the index searches, held as float32 or float16.

``float32``: a numpy matrix with spare capacity; a probe's exact scores are one matrix product.
``float16``: half the memory, held in faiss's scalar-quantised flat index (``QT_fp16``), whose
search decodes and scores the half floats in one SIMD pass (numpy has no fast float16 product:
converting to float32 on the fly made exact search 6 to 12 times slower). Rows stay addressable
by number in both: a numpy view of faiss's codes reads and moves them. A returned similarity
differs from the float32 one by at most 2^-11 (the half float's relative rounding, summed over
|probe_i * template_i| <= 1); ``bench/bench_template_precision.py`` measures it and recall@1.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Precision = Literal["float32", "float16"]
PRECISIONS: tuple[Precision, ...] = ("float32", "float16")


class TemplateMatrix:
    """Unit templates as rows ``0 .. len - 1``; rows are appended and moved, never gapped."""

    def __init__(self, dimension: int, precision: Precision = "float16") -> None:
        """Args: precision: ``float32`` or ``float16`` storage of each template."""
        if precision not in PRECISIONS:
            raise ValueError(f"template precision must be one of {PRECISIONS}, not {precision!r}")
        self.dimension, self.precision, self._count = dimension, precision, 0
        self._matrix = np.zeros((0, dimension), np.float32)
        self._faiss = None
        if precision == "float16":
            import faiss

            self._faiss = faiss.IndexScalarQuantizer(
                dimension, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
            )

    def __len__(self) -> int:
        return self._count

    def append(self, vectors: np.ndarray) -> None:
        """Add unit ``vectors`` (k, dimension) as the next rows."""
        vectors = np.ascontiguousarray(vectors, np.float32).reshape(-1, self.dimension)
        if self._faiss is not None:
            self._faiss.add(vectors)
        else:
            if self._count + len(vectors) > len(self._matrix):
                self._grow(self._count + len(vectors))
            self._matrix[self._count : self._count + len(vectors)] = vectors
        self._count += len(vectors)

    def drop_row(self, row: int) -> None:
        """Remove ``row``: the last row moves into it."""
        last = self._count - 1
        if self._faiss is None:
            self._matrix[row] = self._matrix[last]
            self._matrix[last] = 0.0
        else:
            halves = self._halves()
            halves[row] = halves[last]
            self._faiss.codes.resize(last * self._faiss.code_size)
            self._faiss.ntotal = last
        self._count = last

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` as a new float32 array."""
        return self.take(np.arange(start, min(stop, self._count)))

    def take(self, rows: np.ndarray) -> np.ndarray:
        """Return the given rows as a new float32 array."""
        source = self._matrix if self._faiss is None else self._halves()
        return source[rows].astype(np.float32)

    def score(self, rows: np.ndarray, probe: np.ndarray) -> np.ndarray:
        """Cosine of ``probe`` with each of ``rows`` (float32)."""
        return self.take(rows) @ probe

    def top(self, probe: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
        """Return the ``count`` rows nearest ``probe`` (exact): (rows, scores), best first."""
        count = min(count, self._count)
        if count < 1:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        if self._faiss is not None:  # faiss picks the rows; scored as the shortlist's are
            _one_openmp_thread()
            _, found = self._faiss.search(probe.reshape(1, -1).astype(np.float32), count)
            rows = found[0].astype(np.int64)
            scores = self.score(rows, probe)
            order = np.argsort(-scores, kind="stable")
            return rows[order], scores[order]
        scores = self._matrix[: self._count] @ probe
        if count < self._count:
            rows = np.argpartition(-scores, count - 1)[:count]
        else:
            rows = np.arange(self._count)
        rows = rows[np.argsort(-scores[rows], kind="stable")]
        return rows, scores[rows]

    def _halves(self) -> np.ndarray:
        """Return a numpy view of faiss's codes: rows of float16 (invalid after the next append)."""
        import faiss

        size = self._count * self._faiss.code_size
        codes = (
            faiss.rev_swig_ptr(self._faiss.codes.data(), size) if size else np.empty(0, np.uint8)
        )
        return np.asarray(codes).view(np.float16).reshape(self._count, self.dimension)

    def _grow(self, needed: int) -> None:
        size = max(1024, needed, 2 * len(self._matrix))
        matrix = np.zeros((size, self.dimension), np.float32)
        matrix[: self._count] = self._matrix[: self._count]
        self._matrix = matrix


def _one_openmp_thread() -> None:
    """Search one probe on this thread alone (OpenMP's setting is per calling thread).

    With faiss's default of one OpenMP thread per core, a single probe's scan was 40 times
    slower on two busy cores (11.7 ms against 0.28 ms at 20,000 templates): the threads wait
    for each other. Requests already run in parallel, as with BLAS (``single_threaded_blas``).
    """
    import faiss

    faiss.omp_set_num_threads(1)
