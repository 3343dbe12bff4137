"""Per-system figures: face-finding failures, verification metrics and speed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from bench.peer.embedders import Embedded
from bench.peer.scoring import PairSet, pair_scores
from training.data.folders import ImageRecord
from training.evaluation.verification import verification_report


def timing(seconds: Sequence[float]) -> dict[str, float]:
    """Mean / median / p90 milliseconds per image and the images per second they allow."""
    values = np.asarray(seconds, dtype=np.float64)
    if values.size == 0:
        return {}
    return {
        "images": int(values.size),
        "ms_mean": float(values.mean() * 1e3),
        "ms_median": float(np.median(values) * 1e3),
        "ms_p90": float(np.percentile(values, 90) * 1e3),
        "images_per_s": float(1.0 / values.mean()),
    }


def failures(results: Sequence[Embedded], records: Sequence[ImageRecord]) -> dict[str, object]:
    """How many images got no embedding, in total and per source set."""
    missed = [
        record.source
        for result, record in zip(results, records, strict=True)
        if result.embedding is None
    ]
    totals = Counter(record.source for record in records)
    per_source = {source: f"{Counter(missed)[source]}/{total}" for source, total in totals.items()}
    return {"no_face": len(missed), "images": len(records), "no_face_by_set": per_source}


def metrics(results: Sequence[Embedded], pairs: PairSet, metric: str, seed: int) -> dict:
    """Verification figures of one system on ``pairs`` (see ``training.evaluation.verification``).

    Args:
        results: The system's embeddings, None where it found no face.
        pairs: The pairs to score.
        metric: ``"cosine"`` or ``"euclidean"``.
        seed: Seed of the 10-fold assignment (the same for every system).

    Returns:
        The ``VerificationReport`` as a dict, or ``{"error": ...}`` when the pairs are
        too few for it (no genuine or no impostor pair, or fewer than the folds).
    """
    if pairs.same.all() or not pairs.same.any():
        return {"error": "needs both genuine and impostor pairs", **pairs.counts()}
    scores = pair_scores(results, pairs, metric)
    try:
        return verification_report(pairs.same, scores, seed=seed).to_dict()
    except ValueError as error:  # e.g. fewer pairs of a kind than the 10 folds need
        return {"error": str(error), **pairs.counts()}


def headline(report: dict) -> dict[str, float | None]:
    """The figures the table shows: 10-fold accuracy, EER and TAR at FAR 1e-3."""
    if "error" in report:
        return {"accuracy": None, "accuracy_std": None, "eer": None, "tar_far_1e-3": None}
    return {
        "accuracy": report["accuracy"]["mean"],
        "accuracy_std": report["accuracy"]["std"],
        "eer": report["eer"],
        "tar_far_1e-3": report["tar_at_far"].get("0.001"),
    }


def http_overhead(in_process: Sequence[Embedded], over_http: Sequence[Embedded]) -> dict:
    """What the HTTP layer costs, and whether it returns the in-process embeddings.

    Args:
        in_process: Our system's results in process (decode timed separately).
        over_http: The same photos through ``POST /embed``, one request each.

    Returns:
        Round-trip timing, the in-process decode + detect + embed timing it compares with,
        the no-face count and the lowest cosine between the two embeddings of a photo.
    """
    agreement = [
        float(np.dot(a.embedding, b.embedding))
        for a, b in zip(in_process, over_http, strict=True)
        if a.embedding is not None and b.embedding is not None
    ]
    return {
        "timing": timing([r.seconds for r in over_http]),
        "in_process_end_to_end": timing([r.seconds + r.decode_seconds for r in in_process]),
        "no_face": sum(r.embedding is None for r in over_http),
        "lowest_cosine_vs_in_process": min(agreement) if agreement else None,
    }
