"""Which face and person each row of the template matrix holds, and the rows' shortlist labels.

The index (:mod:`app.gallery.index`) keeps the vectors in a
:class:`~app.gallery.template_matrix.TemplateMatrix` and this book beside it, row for row: a
face id's row, each row's face and person, and the int64 label the IVF shortlist knows a row by
(labels survive rows moving). The number of people is kept as a count per person, so asking
for it costs nothing at any gallery size. Not thread-safe: the index's lock guards it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Match:
    """A person's best template for a probe."""

    person_id: str
    face_id: str
    similarity: float


class RowBook:
    """Face id, person id and label of rows ``0 .. len - 1``."""

    def __init__(self, capacity: int = 1024) -> None:
        """Args: capacity: labels allocated ahead (grown as needed)."""
        self._labels = np.zeros(capacity, np.int64)
        self._face_ids: list[str] = []
        self._person_ids: list[str] = []
        self._person_templates: dict[str, int] = {}
        self._rows: dict[str, int] = {}
        self._label_rows: dict[int, int] = {}
        self._next_label = 0

    def __len__(self) -> int:
        return len(self._face_ids)

    def __contains__(self, face_id: object) -> bool:
        return face_id in self._rows

    @property
    def people(self) -> int:
        """How many distinct people hold at least one row."""
        return len(self._person_templates)

    def labels(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Return the labels of rows ``start:stop`` (a copy)."""
        stop = len(self) if stop is None else min(stop, len(self))
        return self._labels[start:stop].copy()

    def rows_of(self, labels: np.ndarray) -> np.ndarray:
        """Return the rows that hold ``labels``."""
        return np.asarray([self._label_rows[int(label)] for label in labels], np.int64)

    def append(self, face_id: str, person_id: str) -> None:
        """Book the next row for a face; it gets a new label."""
        row = len(self._face_ids)
        if row == len(self._labels):
            self._labels = np.concatenate([self._labels, np.zeros(max(1024, row), np.int64)])
        label, self._next_label = self._next_label, self._next_label + 1
        self._labels[row] = label
        self._face_ids.append(face_id)
        self._person_ids.append(person_id)
        self._person_templates[person_id] = self._person_templates.get(person_id, 0) + 1
        self._rows[face_id] = row
        self._label_rows[label] = row

    def drop(self, face_id: str) -> tuple[int, int] | None:
        """Drop a face's row (the last row moves into it); returns (row, label), or None."""
        row = self._rows.pop(face_id, None)
        if row is None:
            return None
        label, last = int(self._labels[row]), len(self._face_ids) - 1
        del self._label_rows[label]
        person = self._person_ids[row]
        self._person_templates[person] -= 1
        if not self._person_templates[person]:
            del self._person_templates[person]
        if row != last:
            self._labels[row] = self._labels[last]
            self._face_ids[row] = self._face_ids[last]
            self._person_ids[row] = self._person_ids[last]
            self._rows[self._face_ids[row]] = row
            self._label_rows[int(self._labels[row])] = row
        self._face_ids.pop()
        self._person_ids.pop()
        return row, label

    def best_people(self, rows: np.ndarray, scores: np.ndarray, top_k: int) -> list[Match]:
        """Return the first ``top_k`` people among sorted ``rows``, each by its best row."""
        best: dict[str, Match] = {}
        for row, score in zip(rows.tolist(), scores.tolist(), strict=True):
            person = self._person_ids[row]
            if person not in best:
                best[person] = Match(person, self._face_ids[row], float(score))
                if len(best) == top_k:
                    break
        return list(best.values())
