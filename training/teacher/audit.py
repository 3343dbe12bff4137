"""Suspect crops: those the teacher places far from their own person, and the report naming them."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from training.teacher.targets import centred

MIN_CROPS = 3  # a person needs this many crops with a vector for a median to mean anything


def suspects(identities: list[str], vectors: np.ndarray, mask: np.ndarray, below: float):
    """Rows whose median centred cosine to the same person's other rows is below ``below``.

    Args:
        identities: The person of each row.
        vectors: Teacher vectors (rows without one are zero).
        mask: 1 where a row has a vector.
        below: The median cosine under which a row is a suspect.

    Returns:
        ``[(row, median cosine, the person's rows with a vector), ...]``, lowest first.
    """
    unit, _ = centred(vectors, mask)
    rows_of = defaultdict(list)
    for row, identity in enumerate(identities):
        if mask[row] > 0:
            rows_of[identity].append(row)
    found = []
    for rows in (rows for rows in rows_of.values() if len(rows) >= MIN_CROPS):
        cosines = unit[rows] @ unit[rows].T
        for position, row in enumerate(rows):
            median = float(np.median(np.delete(cosines[position], position)))
            if median < below:
                found.append((row, median, len(rows)))
    return sorted(found, key=lambda item: item[1])


def read_suspects(report: Path) -> set[Path]:
    """Return the crops a report of :func:`run` names as suspects (absolute paths).

    Raises:
        ValueError: ``report`` is not such a report.
    """
    try:
        listed = json.loads(report.read_text(encoding="utf-8"))["suspects"]
        return {Path(item["crop"]).resolve() for item in listed}
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{report} is not a `training audit` report: {error}") from error
