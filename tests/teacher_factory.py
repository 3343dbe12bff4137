"""A small prepare cache of the fixture photos, with dlib teacher vectors (these need dlib)."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

from training.cli import main

FACES = os.path.join(os.path.dirname(__file__), "fixtures", "faces")
HAS_DLIB = all(importlib.util.find_spec(name) for name in ("dlib", "face_recognition_models"))
needs_dlib = pytest.mark.skipif(
    not HAS_DLIB, reason="the teacher needs dlib-bin and face-recognition-models (make peer)"
)


def prepared_cache(root: Path) -> Path:
    """Prepare 3 CelebA + 4 ORL photos and 2 unlabelled faces under ``root`` (no teacher).

    Returns:
        The cache directory (``root/cache``).
    """
    unlabelled = root / "unlabelled"
    unlabelled.mkdir()
    for name in ("07238/010481.jpg", "07233/009730.jpg"):
        shutil.copy(os.path.join(FACES, "celeba_heldout", name), unlabelled / name.split("/")[1])
    out = root / "cache"
    prepare = ["prepare", "--data", os.path.join(FACES, "celeba"), "--data"]
    prepare += [os.path.join(FACES, "orl"), "--unlabelled", str(unlabelled)]
    assert main([*prepare, "--out", str(out), "--workers", "1"]) == 0
    return out


def embedded_cache(root: Path) -> Path:
    """Prepare the fixture photos under ``root`` (:func:`prepared_cache`), then embed them.

    Returns:
        The cache directory (``root/cache``).
    """
    out = prepared_cache(root)
    assert main(["teacher", "--cache", str(out), "--workers", "1"]) == 0
    return out


def assert_knows_who_is_who(cache) -> None:
    """Two photos of one person are closer in the cache's teacher vectors than two people."""
    from training.teacher.cache import load_teacher_embeddings

    teacher = load_teacher_embeddings(cache)
    vector = {key: teacher.vectors[row] for key, row in teacher.index.items()}
    same = vector["celeba/07201/001085.png"] @ vector["celeba/07201/007710.png"]
    other = vector["celeba/07201/001085.png"] @ vector["celeba/07337/132009.png"]
    assert same > other
