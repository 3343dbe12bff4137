"""1:N identification on held-out people: is the FPIR ``/identify`` states kept?

Per held-out set (one photo folder) and pooled: everyone with 2+ photos is enrolled with their
first photo; their second is a mated search. Non-mated searches: held-out people with one photo
(never enrolled), and each enrolled person's second photo against the gallery without them.
Photos go through the service's code (:mod:`training.evaluation.photo_embedder`: FacePreprocessor +
the
ONNX model); photos whose face is not detected are left out and counted. The threshold and its
``fpir_bound`` come from ``app.inference.verdict`` at the gallery's size, either from the
model's metadata ("served") or, for sets of ``MIN_PEOPLE`` people, from points calibrated with
their margins on the other sets only ("unseen": the set is new to the calibration).

    python -m bench.identification --model models/resnet18-2.7.0 --data ../shared/data/faces \\
        --out bench/results/identification.json
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from scipy.stats import beta

from app.inference.verdict import identification_threshold, operating_points
from bench.results_file import write_result
from facecore.metadata import FarCalibration, ModelMetadata
from training.evaluation.cross_set import MIN_PEOPLE, calibrate_strict_points, with_strict_points
from training.evaluation.cross_set import within_set_pairs as set_pairs
from training.evaluation.photo_embedder import (
    CACHE_DIR,
    Photo,
    embed_photos,
    heldout_photos,
    model_key,
)

FPIR_TARGET = 0.01  # FACEVERIFY_IDENTIFY_FPIR's default


def interval(hits: int, total: int) -> list[float]:
    """Two-sided 95% Clopper-Pearson interval of a rate."""
    low = 0.0 if hits == 0 else float(beta.ppf(0.025, hits, total - hits + 1))
    high = 1.0 if hits == total else float(beta.ppf(0.975, hits + 1, total - hits))
    return [round(low, 5), round(high, 5)]


def searches(photos: list[Photo]) -> tuple[list[int], list[int], list[int]]:
    """Gallery rows (first photo of each 2+ person), their mated probes, one-photo probes."""
    rows: dict[str, list[int]] = {}
    for row, photo in enumerate(photos):
        rows.setdefault(photo.identity, []).append(row)
    gallery = [r[0] for r in rows.values() if len(r) >= 2]
    mated = [r[1] for r in rows.values() if len(r) >= 2]
    single = [r[0] for r in rows.values() if len(r) == 1]
    return gallery, mated, single


def measure(
    embeddings: np.ndarray, photos: list[Photo], thresholds: dict, fpir: float = FPIR_TARGET
) -> dict:
    """Rank-1/5, FNIR at FPIR = ``fpir`` (the threshold set on the non-mated searches' top
    scores, as NIST FRVT reports it), and FNIR and FPIR at each named threshold rule."""
    gallery, mated, single = searches(photos)
    if len(gallery) < 2:
        return {"gallery": len(gallery), "skipped": "fewer than 2 people with 2 photos"}
    templates = embeddings[gallery]
    mated_scores = embeddings[mated] @ templates.T  # row i's own template is column i
    own = np.diag(mated_scores)
    rank = (mated_scores > own[:, None]).sum(axis=1)
    loo = mated_scores.copy()
    np.fill_diagonal(loo, -2.0)  # the same searches with the person left out: non-mated
    single_top = (embeddings[single] @ templates.T).max(axis=1) if single else np.empty(0)
    nonmated_top = np.concatenate([single_top, loo.max(axis=1)])
    result = {
        "gallery": len(gallery),
        "mated_searches": len(mated),
        "nonmated_searches": {"unenrolled_people": len(single), "left_out": len(mated)},
        "rank1": round(float((rank == 0).mean()), 4),
        "rank5": round(float((rank < 5).mean()), 4),
        "at_fpir_target": fnir_at_fpir(own, rank, nonmated_top, fpir),
    }
    for name, rule in thresholds.items():
        chosen = rule(len(gallery))
        hits = int((nonmated_top >= chosen.cosine).sum())
        found = int(((rank == 0) & (own >= chosen.cosine)).sum())
        result[name] = {
            "threshold": round(chosen.cosine, 4),
            "comparison_far": chosen.comparison_far,
            "fpir_bound": None if chosen.fpir_bound is None else round(chosen.fpir_bound, 5),
            "fpir": round(hits / len(nonmated_top), 5),
            "fpir_ci95": interval(hits, len(nonmated_top)),
            "fnir": round(1 - found / len(mated), 4),
        }
    return result


def fnir_at_fpir(own: np.ndarray, rank: np.ndarray, nonmated_top: np.ndarray, fpir: float) -> dict:
    """FNIR at the lowest threshold that keeps the non-mated searches' FPIR at ``fpir``."""
    ranked = np.sort(nonmated_top)[::-1]
    allowed = int(np.floor(fpir * len(ranked)))  # non-mated searches that may pass
    threshold = float(np.nextafter(ranked[allowed], np.inf)) if allowed < len(ranked) else -1.0
    found = int(((rank == 0) & (own >= threshold)).sum())
    return {"threshold": round(threshold, 4), "fnir": round(1 - found / len(own), 4)}


def rule_of(metadata: ModelMetadata, fpir: float):
    """The service's identification threshold for a gallery size, from ``metadata``."""
    points = operating_points(metadata)
    return lambda n: identification_threshold(points, metadata.threshold.cosine, n, fpir)


def unseen_metadata(metadata: ModelMetadata, embedded, left_out: str) -> ModelMetadata:
    """``metadata`` with strict points and margins calibrated without ``left_out``'s photos."""
    kept = [i for i, photo in enumerate(embedded.photos) if photo.set != left_out]
    photos = [embedded.photos[i] for i in kept]
    pairs = set_pairs(
        embedded.embeddings[kept], [p.identity for p in photos], [p.set for p in photos]
    )
    points, shifts = calibrate_strict_points(pairs)
    calibration = FarCalibration(
        sets=tuple(sorted(pairs)),
        impostor_pairs=sum(len(p.impostor) for p in pairs.values()),
        margin_folds=max(2, len({s.test_set for s in shifts})),
    )
    return with_strict_points(metadata, points, calibration)


def run(args: argparse.Namespace) -> dict:
    """Embed (cached), then measure each set and the pool."""
    started = time.perf_counter()
    split = args.split or args.model / "evaluation" / "heldout_split.json"
    cache = CACHE_DIR / f"{model_key(args.model)}.npz"
    embedded = embed_photos(args.model, heldout_photos(split, args.data), cache)
    metadata = ModelMetadata.load(args.model)
    served = {"served": rule_of(metadata, args.fpir)}
    sets: dict[str, dict] = {}
    for name in sorted({photo.set for photo in embedded.photos}):
        rows = [i for i, photo in enumerate(embedded.photos) if photo.set == name]
        photos = [embedded.photos[i] for i in rows]
        rules = dict(served)
        if len(searches(photos)[0]) >= MIN_PEOPLE:
            unseen = unseen_metadata(metadata, embedded, name)
            rules["unseen"] = rule_of(unseen, args.fpir)
        sets[name] = measure(embedded.embeddings[rows], photos, rules, args.fpir)
    return {
        "model": f"{metadata.name} {metadata.version}",
        "metadata_far_calibration": None
        if metadata.far_calibration is None
        else metadata.far_calibration.model_dump(),
        "split": str(split),
        "fpir_target": args.fpir,
        "photos": embedded.methods,
        "photos_left_out_no_face": sum(embedded.methods.get(m, 0) for m in ("center", "no_face")),
        "sets": sets,
        "pooled": measure(embedded.embeddings, embedded.photos, served, args.fpir),
        "wall_s": round(time.perf_counter() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    """Parse, measure, print and write."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=Path("models/resnet18-2.7.0"))
    parser.add_argument("--data", type=Path, default=Path("../shared/data/faces"))
    parser.add_argument("--split", type=Path, help="default: MODEL/evaluation/heldout_split.json")
    parser.add_argument("--fpir", type=float, default=FPIR_TARGET, help="FPIR target")
    parser.add_argument("--out", type=Path, default=Path("bench/results/identification.json"))
    args = parser.parse_args(argv)
    result = run(args)
    for name, row in [*result["sets"].items(), ("pooled", result["pooled"])]:
        for rule in ("served", "unseen"):
            if rule in row:
                r = row[rule]
                print(
                    f"{name} ({rule}, N={row['gallery']}): FPIR {r['fpir']:.4f} "
                    f"{r['fpir_ci95']} vs bound {r['fpir_bound']}; FNIR {r['fnir']:.3f}; "
                    f"rank-1 {row['rank1']:.3f} rank-5 {row['rank5']:.3f}; FNIR at FPIR "
                    f"{args.fpir:g}: {row['at_fpir_target']['fnir']:.3f}"
                )
    write_result(args.out, result)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
