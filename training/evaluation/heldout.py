"""Held-out pairs: from identity folders, a run's split or a pairs file; scored and calibrated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from facecore.metadata import ModelMetadata
from training.data.folders import (
    IMAGE_SUFFIXES,
    ImageRecord,
    group_by_identity,
    scan_identity_folders,
)
from training.data.pairs import Pair, genuine_pairs, impostor_pairs, pair_rows, parse_lfw_pairs
from training.evaluation.calibration import operating_points, with_operating_points
from training.evaluation.verification import VerificationReport, cosine_similarities

MIN_IMPOSTORS = 10_000  # enough to measure FAR 1e-3 with some confidence


def folder_pairs(
    split_file: Path | None, data: list[str], impostors: int | None, seed: int
) -> tuple[list[Pair], str, dict[Path, str]]:
    """Every genuine pair and a seeded impostor sample of the people to evaluate on.

    Returns:
        The pairs, a one-line description of their source, and each image's identity.
    """
    records = evaluation_records(split_file, data)
    groups = {key: [r.path for r in group] for key, group in group_by_identity(records).items()}
    genuine = genuine_pairs(groups)
    count = impostors if impostors is not None else max(len(genuine), MIN_IMPOSTORS)
    impostor = impostor_pairs(groups, count, seed)
    where = f"held-out people of {split_file}" if split_file else f"people under {data}"
    identity_of = {path: key for key, paths in groups.items() for path in paths}
    return genuine + impostor, f"{len(groups)} {where}", identity_of


def find_image(path: Path) -> Path:
    """Return ``path``, or the same name with another image suffix (a prepared ``.png``)."""
    if path.is_file():
        return path
    for suffix in sorted(IMAGE_SUFFIXES):
        if path.with_suffix(suffix).is_file():
            return path.with_suffix(suffix)
    return path


def evaluation_records(split_file: Path | None, data: list[str]) -> list[ImageRecord]:
    """Return the images to evaluate on: held-out people of a run, or everyone under ``data``.

    With both, ``data`` is scanned and kept to the held-out people (e.g. a moved cache);
    with ``split_file`` alone, the record paths stored in it are used.

    Raises:
        ValueError: Neither source is given, or nobody is left.
    """
    if split_file is None and not data:
        raise ValueError("give --data ROOT..., --split split.json, or --pairs")
    if split_file is None:
        return scan_identity_folders(data)
    split = json.loads(split_file.read_text(encoding="utf-8"))
    heldout = set(split.get("heldout_identities", []))
    if data:
        records = [r for r in scan_identity_folders(data) if r.identity in heldout]
    else:
        records = [
            ImageRecord(Path(row["path"]), row["identity"], row.get("source", ""))
            for row in split.get("heldout", [])
        ]
    if not records:
        raise ValueError(f"no held-out images from {split_file} (was it an identity split?)")
    return records


def file_pairs(pairs_file: Path, root: Path) -> list[Pair]:
    """Return the pairs of an LFW-style ``pairs.txt`` under ``root`` (or their prepared PNGs).

    Raises:
        FileNotFoundError: An image of the file is missing.
    """
    pairs = [
        Pair(find_image(pair.first), find_image(pair.second), pair.same, pair.fold)
        for pair in parse_lfw_pairs(pairs_file, root)
    ]
    missing = [p for pair in pairs for p in (pair.first, pair.second) if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} images of {pairs_file} missing: {missing[0]}")
    return pairs


SCORE_CHUNK = 65_536  # pairs scored per matrix product


def score_pairs(embedder: Any, pairs: list[Pair], batch_size: int) -> np.ndarray:
    """Embed every distinct image once and return the cosine similarity of each pair.

    Pairs are scored in chunks, so millions of impostor pairs (FAR 1e-5) fit in memory.
    """
    paths, first, second = pair_rows(pairs)
    return pair_scores(embedder.embed_files(paths, batch_size), first, second)


def pair_scores(embeddings: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Cosine similarity of rows ``first[i]`` and ``second[i]``, chunk by chunk."""
    chunks = [
        cosine_similarities(
            embeddings[first[i : i + SCORE_CHUNK]], embeddings[second[i : i + SCORE_CHUNK]]
        )
        for i in range(0, len(first), SCORE_CHUNK)
    ]
    return np.concatenate(chunks) if chunks else np.empty(0, np.float32)


def fold_ids(pairs: list[Pair]) -> np.ndarray | None:
    """Return the pairs file's folds, or None to let the metrics draw seeded folds."""
    if any(pair.fold is None for pair in pairs):
        return None
    return np.array([pair.fold for pair in pairs])


def calibrate(
    model_dir: Path,
    metadata: ModelMetadata,
    labels: np.ndarray,
    scores: np.ndarray,
    report: VerificationReport,
    source: str,
) -> None:
    """Store the operating points and the evaluation figures in ``metadata.json``.

    The default threshold becomes the best-accuracy point (:mod:`training.evaluation.calibration`);
    an INT8 view (``metadata.precision``) is written into the int8 block.
    """
    points = operating_points(labels, scores)
    evaluation = {"source": source, **report.to_dict()}
    calibrated = with_operating_points(metadata, points, source)
    view = calibrated.model_copy(update={"evaluation": evaluation})
    ModelMetadata.load(model_dir).with_precision(view).save(model_dir)  # an int8 view: its block
    for point in points:
        print(
            f"operating point {point.name}: cosine {point.cosine:.4f}, TAR {point.tar:.4f}, "
            f"FAR {point.far:.5f}"
        )
    print(
        f"calibrated {model_dir / 'metadata.json'}: default threshold "
        f"{calibrated.threshold.cosine:.4f}"
    )
