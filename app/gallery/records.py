"""Typed records passed between the gallery's database layer, index and routes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ModelKey:
    """The model that made a template; templates of different models are never compared."""

    name: str
    version: str
    dimension: int


@dataclass(frozen=True)
class NewFace:
    """One embedded photo to enrol (the image itself is never kept)."""

    embedding: np.ndarray
    box: tuple[float, float, float, float] | None
    confidence: float | None


@dataclass(frozen=True)
class FaceRecord:
    """A stored template's description, without the embedding."""

    id: str
    person_id: str
    model_name: str
    model_version: str
    box: tuple[float, float, float, float] | None
    confidence: float | None
    created_at: datetime


@dataclass(frozen=True)
class Person:
    """An enrolled person and the descriptions of their templates."""

    id: str
    display_name: str | None
    attributes: dict[str, Any] | None
    created_at: datetime
    faces: tuple[FaceRecord, ...] = ()


@dataclass(frozen=True)
class Template:
    """One template of the served model, ready for search."""

    face_id: str
    person_id: str
    embedding: np.ndarray


@dataclass(frozen=True)
class Changes:
    """What changed in the database between two versions of the change counter.

    ``reset``: the events were pruned meanwhile; reload every template instead.
    """

    version: int
    removed: frozenset[str]
    added: tuple[Template, ...]
    reset: bool = False
