"""Synthetic galleries for the search benchmarks: person-like templates, bulk-stored.

Templates are two noisy copies of a random unit direction per person, the noise scaled with
the dimension so that two templates of one person have cosine ~0.7 and different people ~0
(as the real model's genuine pairs score); probes are new noisy copies of enrolled people.
:func:`fill_gallery` stores them through the product's own row format (:func:`face_row` with a
:class:`TemplateCodec`) in one transaction of bulk inserts, which fills a million templates in
minutes instead of the hours one ``POST /people/{id}/faces`` per template would take.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import insert

from app.gallery.codec import TemplateCodec
from app.gallery.database import database_url, migrate, open_engine
from app.gallery.records import ModelKey, NewFace
from app.gallery.rows import face_row
from app.gallery.tables import faces, people

BATCH_PEOPLE = 5_000


def noise_for(dimension: int) -> float:
    """Per-dimension noise that puts two copies of one direction at cosine ~0.7."""
    return 0.03 * math.sqrt(512 / dimension)


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """``vectors`` with each row scaled to length 1 (float32)."""
    vectors = np.asarray(vectors, np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def person_centres(people_count: int, dimension: int, seed: int) -> np.ndarray:
    """One random unit direction per synthetic person (reproducible from ``seed``)."""
    rng = np.random.default_rng(seed)
    return unit_rows(rng.standard_normal((people_count, dimension), np.float32))


def copies(centres: np.ndarray, per_centre: int, seed: int) -> np.ndarray:
    """``per_centre`` noisy unit copies of each centre, in centre order."""
    rng = np.random.default_rng(seed)
    repeated = np.repeat(centres, per_centre, axis=0)
    noise = rng.standard_normal(repeated.shape, np.float32)
    return unit_rows(repeated + noise_for(centres.shape[1]) * noise)


def probes_of(centres: np.ndarray, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` new noisy copies of random enrolled people; returns (probes, person numbers)."""
    chosen = np.random.default_rng(seed).integers(0, len(centres), count)
    return copies(centres[chosen], 1, seed + 1), chosen


def fill_gallery(data_dir: Path, model: ModelKey, templates: int, seed: int = 0) -> None:
    """Store ``templates`` person-like templates (two per person) in the SQLite gallery.

    The rows are what enrolment stores (``face_row``: the codec's float32 bytes, the model's
    name, version and dimension); people ``synthetic-NNNNNNN``, faces numbered in hex.
    """
    engine = open_engine(database_url(None, data_dir))
    migrate(engine)
    codec, now = TemplateCodec(None), datetime.now(UTC)
    people_count = math.ceil(templates / 2)
    try:
        with engine.begin() as connection:
            for start in range(0, people_count, BATCH_PEOPLE):
                count = min(BATCH_PEOPLE, people_count - start)
                centres = person_centres(count, model.dimension, seed + start)
                vectors = copies(centres, 2, seed + start + 1)[: templates - 2 * start]
                ids = [f"synthetic-{start + i:07d}" for i in range(count)]
                connection.execute(insert(people), [{"id": i, "created_at": now} for i in ids])
                rows = [
                    face_row(
                        codec,
                        f"{2 * start + i:032x}",
                        ids[i // 2],
                        model,
                        NewFace(vector, None, None),
                        now,
                    )
                    for i, vector in enumerate(vectors)
                ]
                connection.execute(insert(faces), rows)
    finally:
        engine.dispose()
