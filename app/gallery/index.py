"""Cosine search over an in-memory float32 matrix of templates (one matrix product).

Rows are L2-normalised embeddings of one model, so ``matrix @ probe`` is every cosine at once.
Rows are appended into spare capacity and removed by moving the last row into the hole, so
changes cost O(rows changed), not a rebuild. Past ``ann_min_templates`` an IVF shortlist
(:mod:`app.gallery.ann`) picks the rows to score instead of all of them. One lock guards
searches and changes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from app.gallery.ann import AnnShortlist
from app.gallery.records import Template


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
        self._ann_min = ann_min_templates
        self._ann = AnnShortlist(dimension, ann_nprobe) if ann_min_templates else None
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
        return self._ann is not None and self._ann.built

    def set_nprobe(self, nprobe: int) -> None:
        """Change how many IVF cells a probe scans (recall against speed)."""
        if self._ann is not None:
            self._ann.nprobe = nprobe

    def add(self, templates: Iterable[Template]) -> None:
        """Add templates; a face id already present is left as it is."""
        with self._lock:
            rows = [
                self._append(template)
                for template in templates
                if template.face_id not in self._rows
            ]
            if self._ann is None:
                return
            if self._ann.built and rows:
                self._ann.add(self._matrix[rows], self._labels[rows])
            elif not self._ann.built and len(self) >= self._ann_min:
                self._ann.build(self._matrix[: len(self)], self._labels[: len(self)])

    def remove(self, face_ids: Iterable[str]) -> None:
        """Remove templates by face id; unknown ids are ignored."""
        with self._lock:
            labels = [label for face_id in face_ids if (label := self._delete(face_id)) is not None]
            if labels and self.approximate:
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


def single_threaded_blas() -> None:
    """Give numpy's BLAS one thread, process-wide (call once at start-up).

    A probe's matrix-vector product is memory-bound, and requests already run in parallel:
    with OpenBLAS's threads on a busy 2-core machine, 10k templates took 10.8 ms instead of 0.7.
    """
    threadpool_limits(limits=1, user_api="blas")


def _unit(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, np.float32).reshape(-1)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
