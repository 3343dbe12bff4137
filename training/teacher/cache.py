"""The teacher-embedding cache: one teacher vector per prepared crop, stored beside the crops.

Layout of ``CACHE/teacher/`` (``CACHE`` is a ``training prepare`` directory):

- ``parts/part-NNNNN.npz``: ``keys`` (crop paths relative to ``CACHE``) and ``embeddings``
  (float32, L2-normalised), written atomically one chunk at a time, so an interrupted run
  resumes after the last complete chunk;
- ``failures.jsonl``: crops the teacher could not embed, with the reason;
- ``teacher.json``: which teacher made the cache (:class:`TeacherInfo`: dlib itself or an
  ONNX export of it, which export, mirror-averaged or not, which alignment), checked when a
  run resumes, so vectors of two teachers or backends are never mixed in one folder.

Another *view* of the same crops (the teacher's vector of each chip mirrored left to right)
lives in ``CACHE/teacher_<view>/`` with the same layout; :func:`load_view_average` averages
the views a run asks for.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from training.data.vectors import unit_rows

TEACHER_DIR = "teacher"
INFO_NAME = "teacher.json"
FAILURES_NAME = "failures.jsonl"
PARTS_DIR = "parts"
ORIGINAL = "original"
MIRROR = "mirror"
VIEWS = (ORIGINAL, MIRROR)  # what the teacher saw: its chip as cut, or mirrored
BACKENDS = ("dlib", "onnx")  # what computed the vectors: dlib itself, or an export through ORT


@dataclass(frozen=True)
class TeacherInfo:
    """Which teacher produced a cache: checked when a cache is resumed or loaded.

    The fields after ``alignment`` came with the ONNX backend; a ``teacher.json`` written
    before them reads as dlib's (their defaults), which it is.
    """

    name: str
    dimension: int
    alignment: str
    backend: str = "dlib"
    version: str = ""  # the export's version (ONNX backend)
    sha256: str = ""  # of the model file that computed the vectors (ONNX backend)
    source_sha256: str = ""  # of the network the export was converted from, if recorded
    mirror_averaged: bool = False  # each vector is the mean of the chip's and its mirror's

    def __post_init__(self) -> None:
        """Reject impossible values."""
        if self.dimension < 1 or not self.name or self.backend not in BACKENDS:
            raise ValueError(f"invalid teacher info: {self}")

    def differences(self, other: TeacherInfo) -> list[str]:
        """Return ``field ours != theirs`` for each field that differs from ``other``."""
        ours, theirs = asdict(self), asdict(other)
        return [
            f"{key} {ours[key]!r} != {theirs[key]!r}" for key in ours if ours[key] != theirs[key]
        ]


@dataclass(frozen=True, eq=False)  # holds arrays
class TeacherEmbeddings:
    """Teacher vectors by crop key, as loaded from a cache."""

    info: TeacherInfo
    index: dict[str, int]
    vectors: np.ndarray  # (n, dimension) float32, unit length

    def lookup(self, keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Vectors for ``keys`` and a 0/1 mask of which keys have one (zeros where not).

        Returns:
            ``(vectors (len(keys), dimension) float32, mask (len(keys),) float32)``.
        """
        vectors = np.zeros((len(keys), self.info.dimension), np.float32)
        mask = np.zeros(len(keys), np.float32)
        for row, key in enumerate(keys):
            position = self.index.get(key)
            if position is not None:
                vectors[row] = self.vectors[position]
                mask[row] = 1.0
        return vectors, mask


def teacher_dir(cache: Path, view: str = ORIGINAL) -> Path:
    """Return the folder of one teacher view of a prepare cache.

    Raises:
        ValueError: ``view`` is not one of :data:`VIEWS`.
    """
    if view not in VIEWS:
        raise ValueError(f"unknown teacher view {view!r}; expected one of {VIEWS}")
    return Path(cache) / (TEACHER_DIR if view == ORIGINAL else f"{TEACHER_DIR}_{view}")


def write_info(cache: Path, info: TeacherInfo, view: str = ORIGINAL) -> None:
    """Record the teacher, refusing to mix two teachers in one cache.

    Raises:
        ValueError: The cache already holds another teacher's vectors.
    """
    folder = teacher_dir(cache, view)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / INFO_NAME
    if path.is_file():
        existing = read_info(cache, view)
        if existing != info:
            raise ValueError(
                f"{folder} holds vectors of another teacher (cache != this run: "
                f"{', '.join(existing.differences(info))}); embed into another cache or "
                f"remove {folder}"
            )
        return
    path.write_text(json.dumps(asdict(info), indent=2) + "\n")


def read_info(cache: Path, view: str = ORIGINAL) -> TeacherInfo:
    """Read ``teacher.json`` of one view.

    Raises:
        FileNotFoundError: The cache has no teacher vectors of that view.
        ValueError: ``teacher.json`` is not a teacher record.
    """
    path = teacher_dir(cache, view) / INFO_NAME
    if not path.is_file():
        raise FileNotFoundError(
            f"no teacher cache at {path.parent}: run `python -m training "
            f"teacher --cache {cache} --view {view}` first"
        )
    try:
        return TeacherInfo(**json.loads(path.read_text()))
    except (TypeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not a teacher record: {error}") from None


def write_part(cache: Path, keys: list[str], vectors: np.ndarray, view: str = ORIGINAL) -> Path:
    """Atomically write the next chunk of vectors."""
    folder = teacher_dir(cache, view) / PARTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    number = len(list(folder.glob("part-*.npz")))
    path = folder / f"part-{number:05d}.npz"
    partial = folder / f".partial-{os.getpid()}.npz"
    np.savez(partial, keys=np.asarray(keys, dtype=str), embeddings=vectors.astype(np.float32))
    os.replace(partial, path)
    return path


def append_failures(cache: Path, failures: list[dict], view: str = ORIGINAL) -> None:
    """Append crops the teacher could not embed."""
    with (teacher_dir(cache, view) / FAILURES_NAME).open("a") as handle:
        for failure in failures:
            handle.write(json.dumps(failure) + "\n")


def done_keys(cache: Path, view: str = ORIGINAL) -> set[str]:
    """Crop keys already embedded or already failed (skipped when resuming)."""
    done = set(load_teacher_embeddings(cache, view).index) if _has_parts(cache, view) else set()
    failures = teacher_dir(cache, view) / FAILURES_NAME
    if failures.is_file():
        for line in failures.read_text().splitlines():
            try:
                done.add(json.loads(line)["crop"])
            except (json.JSONDecodeError, KeyError):
                continue  # a torn last line: that crop is simply retried
    return done


def _has_parts(cache: Path, view: str) -> bool:
    return any((teacher_dir(cache, view) / PARTS_DIR).glob("part-*.npz"))


def load_teacher_embeddings(cache: Path, view: str = ORIGINAL) -> TeacherEmbeddings:
    """Load every part of one view of a cache, validating dimension and norm.

    Raises:
        FileNotFoundError: No teacher cache of that view in ``cache``.
        ValueError: A part has the wrong shape or vectors that are not unit length.
    """
    info = read_info(cache, view)
    keys: list[str] = []
    chunks: list[np.ndarray] = []
    for part in sorted((teacher_dir(cache, view) / PARTS_DIR).glob("part-*.npz")):
        with np.load(part) as data:
            vectors = data["embeddings"]
            if vectors.ndim != 2 or vectors.shape[1] != info.dimension:
                raise ValueError(f"{part}: vectors {vectors.shape}, expected (n, {info.dimension})")
            if len(vectors) and not np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3):
                raise ValueError(f"{part}: teacher vectors are not unit length")
            keys.extend(str(key) for key in data["keys"])
            chunks.append(vectors)
    matrix = np.concatenate(chunks) if chunks else np.zeros((0, info.dimension), np.float32)
    return TeacherEmbeddings(info, {key: row for row, key in enumerate(keys)}, matrix)


def load_view_average(cache: Path, views: Sequence[str]) -> TeacherEmbeddings:
    """Load the teacher's vector of each crop averaged over ``views`` (back to unit length).

    Raises:
        FileNotFoundError: A view has no cache.
        ValueError: No views, a repeated view, or views of different teachers.
    """
    if not views or len(set(views)) != len(views):
        raise ValueError(f"teacher views must be distinct and at least one, not {views}")
    return mean_of_views({view: load_teacher_embeddings(cache, view) for view in views})


def mean_of_views(views: Mapping[str, TeacherEmbeddings]) -> TeacherEmbeddings:
    """Average each crop's vectors over the loaded ``views`` (view name -> vectors), unit length.

    A crop takes part only when every view has its vector (a crop one view failed on gets
    no target, as a crop the teacher failed on). One view is returned as it is.

    Raises:
        ValueError: No views, or views of different teachers.
    """
    if not views:
        raise ValueError("no teacher views to average")
    loaded = list(views.values())
    first = loaded[0]
    if len(loaded) == 1:
        return first
    teacher = replace(first.info, alignment="")  # views differ in their chips only
    if any(replace(e.info, alignment="") != teacher for e in loaded):
        raise ValueError(f"the views {', '.join(views)} were made by different teachers")
    keys = [key for key in first.index if all(key in e.index for e in loaded[1:])]
    total = sum(e.vectors[[e.index[key] for key in keys]] for e in loaded)
    alignment = f"{first.info.alignment}; mean of views {', '.join(views)}"
    info = replace(first.info, alignment=alignment)
    index = {key: row for row, key in enumerate(keys)}
    return TeacherEmbeddings(info, index, unit_rows(total).astype(np.float32))
