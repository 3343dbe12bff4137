"""Cosine search over the in-memory templates (:mod:`app.gallery.template_matrix`).

Rows are L2-normalised embeddings of one model, so one product with the probe is every cosine
at once. Rows are appended and removed by moving the last row into the hole, so changes cost
O(rows changed), not a rebuild. Past ``ann_min_templates`` an IVF shortlist
(:mod:`app.gallery.ann`) picks the rows to score instead of all of them. One lock guards
searches and changes.

The shortlist is built, and re-learned when the gallery has grown ``RELEARN_GROWTH`` times, by
one background thread: k-means and the bulk of the adding run outside the lock, reading the
matrix in short locked chunks, so searches and changes never wait for a build. Until it is
swapped in, searches use the previous shortlist, or exact search. Changes made meanwhile are
reconciled by label under the lock just before the swap.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

import numpy as np

from app.gallery.ann import RELEARN_GROWTH, AnnShortlist, cells_for, training_rows
from app.gallery.records import Template
from app.gallery.row_book import Match, RowBook
from app.gallery.template_matrix import Precision, TemplateMatrix

__all__ = ["Match", "TemplateIndex"]
logger = logging.getLogger(__name__)
BUILD_CHUNK = 65_536  # rows copied per lock hold while a shortlist is built
ADD_CHUNK = 65_536  # templates normalised and stored per lock hold


class TemplateIndex:
    """Templates of the served model, searchable by cosine similarity."""

    def __init__(
        self,
        dimension: int,
        capacity: int = 1024,
        ann_min_templates: int = 0,
        ann_nprobe: int = 256,
        precision: Precision = "float16",
    ) -> None:
        """Hold templates of ``dimension`` floats.

        Args: ann_min_templates: size from which the IVF shortlist is used (0: never);
        precision: how each template is held in memory (``float16``: half the memory).
        """
        self.dimension = dimension
        self._matrix = TemplateMatrix(dimension, precision)
        self._book = RowBook(capacity)
        self._ann_min, self._nprobe = ann_min_templates, ann_nprobe
        self._ann: AnnShortlist | None = None
        self._ann_learned_on = self._build_failed_on = 0
        self._builder: threading.Thread | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._book)

    def __contains__(self, face_id: object) -> bool:
        return face_id in self._book

    @property
    def people(self) -> int:
        """How many distinct people have at least one template (kept count: O(1))."""
        return self._book.people

    @property
    def precision(self) -> Precision:
        """How each template is held in memory."""
        return self._matrix.precision

    @property
    def approximate(self) -> bool:
        """Whether searches use the IVF shortlist."""
        return self._ann is not None

    @property
    def shortlist_cells(self) -> int:
        """IVF cells of the shortlist in use (0: exact search)."""
        return self._ann.cells if self._ann is not None else 0

    def set_nprobe(self, nprobe: int) -> None:
        """Change how many IVF cells a probe scans (recall against speed)."""
        self._nprobe = nprobe
        if self._ann is not None:
            self._ann.nprobe = nprobe

    def wait_for_shortlist(self, timeout: float | None = None) -> None:
        """Block until a shortlist build in progress, if any, has finished."""
        builder = self._builder
        if builder is not None:
            builder.join(timeout)

    def add(self, templates: Iterable[Template]) -> None:
        """Add templates; a face id already present is left as it is.

        Stored a chunk per lock hold; a shortlist build is considered once all are in (a
        gallery loaded at start-up gets cells for its full size, not for its first chunks).
        """
        batch: dict[str, Template] = {}
        for template in templates:
            batch.setdefault(template.face_id, template)
            if len(batch) == ADD_CHUNK:
                self._add_batch(list(batch.values()))
                batch = {}
        self._add_batch(list(batch.values()))
        with self._lock:
            self._schedule_build()

    def remove(self, face_ids: Iterable[str]) -> None:
        """Remove templates by face id; unknown ids are ignored."""
        with self._lock:
            labels = []
            for face_id in face_ids:
                dropped = self._book.drop(face_id)
                if dropped is not None:
                    self._matrix.drop_row(dropped[0])
                    labels.append(dropped[1])
            if labels and self._ann is not None:
                self._ann.remove(np.asarray(labels, np.int64))

    def search(self, probe: np.ndarray, top_k: int) -> list[Match]:
        """Return the ``top_k`` people most similar to ``probe``, each by their best template."""
        probe = _unit_rows([probe])[0]
        with self._lock:
            count = len(self)
            if count == 0 or top_k < 1:
                return []
            if self.approximate:
                labels = self._ann.shortlist(probe, max(64, 8 * top_k))
                rows = self._book.rows_of(labels)
                scores = self._matrix.score(rows, probe)
                order = np.argsort(-scores, kind="stable")
                return self._book.best_people(rows[order], scores[order], top_k)
            wanted = 4 * top_k  # widened until it holds top_k people
            while True:
                rows, scores = self._matrix.top(probe, wanted)
                best = self._book.best_people(rows, scores, top_k)
                if len(best) >= top_k or wanted >= count:
                    return best
                wanted *= 4

    def _add_batch(self, templates: list[Template]) -> None:
        """Store new templates' rows and book them, under one lock hold."""
        with self._lock:
            new = [template for template in templates if template.face_id not in self._book]
            if new:
                start = len(self)
                self._matrix.append(_unit_rows([template.embedding for template in new]))
                for template in new:
                    self._book.append(template.face_id, template.person_id)
                if self._ann is not None:
                    self._ann.add(self._matrix.read(start, len(self)), self._book.labels(start))

    def _schedule_build(self) -> None:
        """Start a background build when the gallery first reaches, or outgrows, its size."""
        if not self._ann_min or self._builder is not None or len(self) < self._ann_min:
            return
        if self._ann is not None and len(self) < RELEARN_GROWTH * self._ann_learned_on:
            return
        if len(self) < 2 * self._build_failed_on:  # after a failure, retry at twice the size
            return
        self._builder = threading.Thread(target=self._build, name="ivf-build", daemon=True)
        self._builder.start()

    def _build(self) -> None:
        """Learn a shortlist for the current gallery and swap it in (background thread)."""
        try:
            with self._lock:
                cells = cells_for(len(self))
                sample = self._matrix.take(training_rows(len(self), cells))
            shortlist = AnnShortlist(self.dimension, cells, self._nprobe)
            shortlist.train(sample)
            added = self._fill(shortlist)
            with self._lock:
                self._reconcile(shortlist, added)
                self._ann, self._ann_learned_on = shortlist, len(self)
            logger.info("IVF shortlist: %d cells over %d templates", cells, len(self))
        except Exception:  # keep serving with what there is
            logger.exception("IVF shortlist build failed; searches keep the previous one")
            self._build_failed_on = len(self)
        finally:
            with self._lock:
                self._builder = None
                self._schedule_build()  # grown past the next size meanwhile

    def _fill(self, shortlist: AnnShortlist) -> np.ndarray:
        """Add every row to ``shortlist``, copying a chunk per lock hold; returns the labels."""
        added, start = [], 0
        while True:
            with self._lock:
                stop = min(start + BUILD_CHUNK, len(self))
                vectors = self._matrix.read(start, stop)
                labels = self._book.labels(start, stop)
            if start >= stop:
                return np.concatenate(added) if added else np.empty(0, np.int64)
            shortlist.add(vectors, labels)
            added.append(labels)
            start = stop

    def _reconcile(self, shortlist: AnnShortlist, added: np.ndarray) -> None:
        """Under the lock: add rows the chunks missed (moved or new), drop removed labels."""
        present = self._book.labels()
        missing = np.flatnonzero(~np.isin(present, added))
        if missing.size:
            shortlist.add(self._matrix.take(missing), present[missing])
        removed = np.setdiff1d(added, present)
        if removed.size:
            shortlist.remove(removed)


def _unit_rows(vectors: list[np.ndarray]) -> np.ndarray:
    """Stack ``vectors`` as float32 rows of length 1 (a zero row stays zero)."""
    matrix = np.asarray(vectors, np.float32).reshape(len(vectors), -1)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)
