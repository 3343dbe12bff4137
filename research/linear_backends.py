"""Linear scoring backends fitted on the training people's embeddings, against raw cosines.

A linear map applied to every embedding before the cosine could be folded into the served
graph at no cost. The classic ones, each fitted on embeddings of the people the model trained
on (never an evaluated or held-out person):

* ``center``: remove the training mean.
* ``wccn``: within-class covariance normalisation, ``Sw^-1/2`` (Hatch et al., "Within-class
  covariance normalization for SVM-based speaker recognition", Interspeech 2006).
* ``lda128``: the 128 most discriminant directions of ``Sw^-1/2 Sb Sw^-1/2`` (Fisher's LDA).
* ``whiten``: total covariance ``St^-1/2`` (PCA whitening).
* ``abtt1``: remove the mean and the top principal direction ("all-but-the-top"; Mu &
  Viswanath, ICLR 2018).

Covariances are shrunk towards a scaled identity (``(1 - a) S + a tr(S)/d I``) so that dead
feature dimensions stay invertible.

    python -m research.linear_backends --model models/resnet18-2.7.0 \\
        --split models/resnet18-2.7.0/evaluation/heldout_split.json \\
        --data celeba=data_cache/faces112/celeba_subset \\
        --fit-data celeba=data_cache/faces112/celeba_subset ... --out result.json
"""

from __future__ import annotations

import argparse

import numpy as np

from research.scored_pairs import (
    add_scoring_arguments,
    load_scored_pairs,
    rescoring_main,
    rescoring_result,
)
from training.data.folders import scan_identity_folders
from training.evaluation.crop_roots import require_crops_of

Backend = tuple[np.ndarray, np.ndarray]  # (mean subtracted, projection matrix)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_scoring_arguments(parser)
    parser.add_argument(
        "--fit-data", nargs="+", required=True, help="roots of the people to fit the maps on"
    )
    parser.add_argument("--shrinkage", type=float, default=0.1, help="covariance shrinkage a")
    return parser.parse_args(argv)


def inverse_root(covariance: np.ndarray, shrinkage: float) -> np.ndarray:
    """``S^-1/2`` of ``S`` shrunk towards ``tr(S)/d I`` by ``shrinkage``."""
    size = covariance.shape[0]
    ridge = np.trace(covariance) / size * np.eye(size)
    values, vectors = np.linalg.eigh((1 - shrinkage) * covariance + shrinkage * ridge)
    return vectors @ np.diag(values**-0.5) @ vectors.T


def class_scatter(embeddings: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Within-class and between-class covariance, over the people with two images or more."""
    _, index, counts = np.unique(labels, return_inverse=True, return_counts=True)
    means = np.zeros((len(counts), embeddings.shape[1]))
    np.add.at(means, index, embeddings)
    means /= counts[:, None]
    repeated = counts[index] >= 2
    residuals = (embeddings - means[index])[repeated]
    within = residuals.T @ residuals / (len(residuals) - np.sum(counts >= 2))
    between = np.cov(means[counts >= 2].T)
    return within, between


def fit_backends(embeddings: np.ndarray, labels: np.ndarray, shrinkage: float) -> dict:
    """Every backend of the module docstring, fitted on ``embeddings`` of people ``labels``."""
    mean = embeddings.mean(axis=0)
    centred = embeddings - mean
    within, between = class_scatter(embeddings, labels)
    whiten_within = inverse_root(within, shrinkage)
    values, vectors = np.linalg.eigh(whiten_within @ between @ whiten_within)
    top = vectors[:, np.argsort(values)[::-1][:128]]
    principal = np.linalg.svd(centred, full_matrices=False)[2][:1]
    size = embeddings.shape[1]
    return {
        "center": (mean, np.eye(size)),
        "wccn": (mean, whiten_within),
        "lda128": (mean, whiten_within @ top),
        "whiten": (mean, inverse_root(centred.T @ centred / len(centred), shrinkage)),
        "abtt1": (mean, np.eye(size) - principal.T @ principal),
    }


def mapped(embeddings: np.ndarray, backend: Backend) -> np.ndarray:
    """``(embeddings - mean) @ projection`` (the cosine normalises the rows)."""
    mean, projection = backend
    return (embeddings - mean) @ projection


def run(args: argparse.Namespace, command: str) -> dict:
    """Fit every backend and compare its scores with the raw cosines on the same pairs."""
    from training.evaluation.embedder import OnnxEmbedder

    pairs = load_scored_pairs(args.split, args.data, args.impostors, args.seed)
    fit_records = [
        record
        for record in scan_identity_folders(args.fit_data)
        if record.identity not in pairs.excluded_people
    ]
    if not fit_records:
        raise SystemExit("nothing to fit on: every person under --fit-data is evaluated")
    model = OnnxEmbedder(args.model)
    require_crops_of(model.bundle.preprocess, args.data + args.fit_data, "the model")
    embeddings = model.embed_files(pairs.paths)
    fit_embeddings = model.embed_files([record.path for record in fit_records])
    labels = np.array([record.identity for record in fit_records])
    raw = pairs.raw_scores(embeddings)
    backends = {
        name: pairs.raw_scores(mapped(embeddings, backend))
        for name, backend in fit_backends(fit_embeddings, labels, args.shrinkage).items()
    }
    return rescoring_result(
        command,
        args,
        pairs,
        raw,
        backends,
        fit_images=len(fit_records),
        fit_people=len(set(labels)),
    )


def main(argv: list[str] | None = None) -> int:
    return rescoring_main("research.linear_backends", parse_args, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
