"""Cosine search over an in-memory float32 matrix of templates (one matrix product).

Rows are L2-normalised embeddings of one model, so ``matrix @ probe`` is every cosine at once.
Rows are appended into spare capacity and removed by moving the last row into the hole, so
changes cost O(rows changed), not a rebuild. Past ``ann_min_templates`` an IVF shortlist
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
from dataclasses import dataclass

import numpy as np

from app.gallery.ann import RELEARN_GROWTH, AnnShortlist, cells_for, training_rows
from app.gallery.records import Template

logger = logging.getLogger(__name__)
BUILD_CHUNK = 65_536  # rows copied per lock hold while a shortlist is built


@dataclass(frozen=True)
class Match:
    """A person's best template for a probe."""

    person_id: str
    face_id: str
    similarity: float


class TemplateIndex:
    """Templates of the served model, searchable by cosine similarity."""

    def __init__(
        self,
        dimension: int,
        capacity: int = 1024,
        ann_min_templates: int = 0,
        ann_nprobe: int = 256,
    ) -> None:
        """Args: ann_min_templates: size from which the IVF shortlist is used (0: never)."""
        self.dimension = dimension
        self._matrix = np.zeros((capacity, dimension), np.float32)
        self._labels = np.zeros(capacity, np.int64)
        self._face_ids: list[str] = []
        self._person_ids: list[str] = []
        self._rows: dict[str, int] = {}
        self._label_rows: dict[int, int] = {}
        self._next_label = 0
        self._ann_min, self._nprobe = ann_min_templates, ann_nprobe
        self._ann: AnnShortlist | None = None
        self._ann_learned_on = self._build_failed_on = 0
        self._builder: threading.Thread | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._face_ids)

    def __contains__(self, face_id: object) -> bool:
        return face_id in self._rows

    @property
    def people(self) -> int:
        """How many distinct people have at least one template."""
        with self._lock:
            return len(set(self._person_ids))

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
        """Add templates; a face id already present is left as it is."""
        with self._lock:
            rows = [
                self._append(template)
                for template in templates
                if template.face_id not in self._rows
            ]
            if self._ann is not None and rows:
                self._ann.add(self._matrix[rows], self._labels[rows])
            self._schedule_build()

    def remove(self, face_ids: Iterable[str]) -> None:
        """Remove templates by face id; unknown ids are ignored."""
        with self._lock:
            labels = [label for face_id in face_ids if (label := self._delete(face_id)) is not None]
            if labels and self._ann is not None:
                self._ann.remove(np.asarray(labels, np.int64))

    def search(self, probe: np.ndarray, top_k: int) -> list[Match]:
        """Return the ``top_k`` people most similar to ``probe``, each by their best template."""
        probe = _unit(probe)
        with self._lock:
            count = len(self._face_ids)
            if count == 0 or top_k < 1:
                return []
            if self.approximate:
                labels = self._ann.shortlist(probe, max(64, 8 * top_k))
                rows = np.asarray([self._label_rows[int(label)] for label in labels], np.int64)
                return self._best_people(rows, self._matrix[rows] @ probe, top_k)
            rows = np.arange(count)
            return self._best_people(rows, self._matrix[:count] @ probe, top_k)

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
                sample = self._matrix[training_rows(len(self), cells)]
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
                vectors = self._matrix[start:stop].copy()
                labels = self._labels[start:stop].copy()
            if start >= stop:
                return np.concatenate(added) if added else np.empty(0, np.int64)
            shortlist.add(vectors, labels)
            added.append(labels)
            start = stop

    def _reconcile(self, shortlist: AnnShortlist, added: np.ndarray) -> None:
        """Under the lock: add rows the chunks missed (moved or new), drop removed labels."""
        present = self._labels[: len(self)]
        missing = np.flatnonzero(~np.isin(present, added))
        if missing.size:
            shortlist.add(self._matrix[missing], present[missing])
        removed = np.setdiff1d(added, present)
        if removed.size:
            shortlist.remove(removed)

    def _append(self, template: Template) -> int:
        row = len(self._face_ids)
        if row == len(self._matrix):
            self._grow()
        label, self._next_label = self._next_label, self._next_label + 1
        self._matrix[row] = _unit(template.embedding)
        self._labels[row] = label
        self._face_ids.append(template.face_id)
        self._person_ids.append(template.person_id)
        self._rows[template.face_id] = row
        self._label_rows[label] = row
        return row

    def _delete(self, face_id: str) -> int | None:
        """Drop one row (the last row moves into it); returns its label."""
        row = self._rows.pop(face_id, None)
        if row is None:
            return None
        label, last = int(self._labels[row]), len(self._face_ids) - 1
        del self._label_rows[label]
        if row != last:
            self._matrix[row], self._labels[row] = self._matrix[last], self._labels[last]
            self._face_ids[row] = self._face_ids[last]
            self._person_ids[row] = self._person_ids[last]
            self._rows[self._face_ids[row]] = row
            self._label_rows[int(self._labels[row])] = row
        self._matrix[last] = 0.0
        self._face_ids.pop()
        self._person_ids.pop()
        return label

    def _best_people(self, rows: np.ndarray, scores: np.ndarray, top_k: int) -> list[Match]:
        """Top-k people among ``rows`` (scored): widen the sorted part until it holds k."""
        count, shortlist = len(scores), min(len(scores), top_k * 4)
        while True:
            if shortlist < count:
                chosen = np.argpartition(-scores, shortlist - 1)[:shortlist]
            else:
                chosen = np.arange(count)
            chosen = chosen[np.argsort(-scores[chosen], kind="stable")]
            best: dict[str, Match] = {}
            for position in chosen:
                row = rows[position]
                person = self._person_ids[row]
                if person not in best:
                    best[person] = Match(person, self._face_ids[row], float(scores[position]))
            if len(best) >= top_k or shortlist >= count:
                return list(best.values())[:top_k]
            shortlist = min(count, shortlist * 4)

    def _grow(self) -> None:
        size = max(1024, len(self._matrix) * 2)
        matrix, labels = np.zeros((size, self.dimension), np.float32), np.zeros(size, np.int64)
        matrix[: len(self._matrix)], labels[: len(self._labels)] = self._matrix, self._labels
        self._matrix, self._labels = matrix, labels


def _unit(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, np.float32).reshape(-1)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
