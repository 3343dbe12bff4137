"""Exact cosine search over an in-memory float32 matrix of templates (one matrix product).

Rows are L2-normalised embeddings of one model, so ``matrix @ probe`` is every cosine at once.
Rows are appended into spare capacity and removed by moving the last row into the hole, so
changes cost O(rows changed), not a rebuild. One lock guards searches and changes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from app.gallery.records import Template


@dataclass(frozen=True)
class Match:
    """A person's best template for a probe."""

    person_id: str
    face_id: str
    similarity: float


class TemplateIndex:
    """Templates of the served model, searchable by cosine similarity."""

    def __init__(self, dimension: int, capacity: int = 1024) -> None:
        self.dimension = dimension
        self._matrix = np.zeros((capacity, dimension), np.float32)
        self._face_ids: list[str] = []
        self._person_ids: list[str] = []
        self._rows: dict[str, int] = {}
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

    def add(self, templates: Iterable[Template]) -> None:
        """Add templates; a face id already present is left as it is."""
        with self._lock:
            for template in templates:
                if template.face_id in self._rows:
                    continue
                row = len(self._face_ids)
                if row == len(self._matrix):
                    self._grow()
                self._matrix[row] = _unit(template.embedding)
                self._face_ids.append(template.face_id)
                self._person_ids.append(template.person_id)
                self._rows[template.face_id] = row

    def remove(self, face_ids: Iterable[str]) -> None:
        """Remove templates by face id; unknown ids are ignored."""
        with self._lock:
            for face_id in face_ids:
                row = self._rows.pop(face_id, None)
                if row is None:
                    continue
                last = len(self._face_ids) - 1
                if row != last:
                    self._matrix[row] = self._matrix[last]
                    self._face_ids[row] = self._face_ids[last]
                    self._person_ids[row] = self._person_ids[last]
                    self._rows[self._face_ids[row]] = row
                self._matrix[last] = 0.0
                self._face_ids.pop()
                self._person_ids.pop()

    def search(self, probe: np.ndarray, top_k: int) -> list[Match]:
        """Return the ``top_k`` people most similar to ``probe``, each by their best template."""
        with self._lock:
            count = len(self._face_ids)
            if count == 0 or top_k < 1:
                return []
            scores = self._matrix[:count] @ _unit(probe)
            return self._best_people(scores, top_k)

    def _best_people(self, scores: np.ndarray, top_k: int) -> list[Match]:
        """Exact top-k people: widen the template shortlist until it holds k people."""
        count = len(scores)
        shortlist = min(count, top_k * 4)
        while True:
            if shortlist < count:
                rows = np.argpartition(-scores, shortlist - 1)[:shortlist]
            else:
                rows = np.arange(count)
            rows = rows[np.argsort(-scores[rows], kind="stable")]
            best: dict[str, Match] = {}
            for row in rows:
                person = self._person_ids[row]
                if person not in best:
                    best[person] = Match(person, self._face_ids[row], float(scores[row]))
            if len(best) >= top_k or shortlist >= count:
                return list(best.values())[:top_k]
            shortlist = min(count, shortlist * 4)

    def _grow(self) -> None:
        bigger = np.zeros((max(1024, len(self._matrix) * 2), self.dimension), np.float32)
        bigger[:len(self._matrix)] = self._matrix
        self._matrix = bigger


def _unit(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, np.float32).reshape(-1)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
