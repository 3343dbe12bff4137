"""``training calibrate``: an export's strict points on held-out photos, with cross-set margins.

Embeds the original photos of the held-out people as the service does
(:mod:`training.evaluation.photo_embedder`), calibrates FAR 1e-3 .. 1e-5 on every set's
within-set impostor pairs pooled and measures each point's ``far_margin`` across sets
(:mod:`training.evaluation.cross_set`). Writes them into ``metadata.json`` (other points kept)
and the fold measurements into ``MODEL/evaluation/cross_set.json``. Run it after ``evaluate
--calibrate``, which rewrites the whole table without margins. ``--precision int8``: the same for
the int8 block's model and points (reports in ``MODEL/evaluation/int8/``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from facecore.metadata import FarCalibration, ModelMetadata
from facecore.quantized import PRECISIONS, evaluation_dir
from training.evaluation.cross_set import (
    MIN_EXPECTED,
    MIN_PEOPLE,
    STRICT_FAR_TARGETS,
    FoldShift,
    calibrate_strict_points,
    with_strict_points,
    within_set_pairs,
)
from training.evaluation.photo_embedder import CACHE_DIR, embed_photos, heldout_photos, model_key


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``calibrate`` options."""
    parser.add_argument("--model", required=True, type=Path, help="exported model directory")
    parser.add_argument("--data", required=True, type=Path, help="raw sets: DATA/SET/PERSON/IMG")
    parser.add_argument("--split", type=Path, help="default: MODEL/evaluation/heldout_split.json")
    parser.add_argument("--cache", type=Path, help=f"embedding cache (default: {CACHE_DIR}/)")
    parser.add_argument(
        "--precision", choices=PRECISIONS, default="float32", help="model.onnx or the int8 model"
    )
    parser.add_argument("--dry-run", action="store_true", help="report, leave metadata.json")


def run(args: argparse.Namespace) -> int:
    """Calibrate and write; returns the exit status."""
    split = args.split or args.model / "evaluation" / "heldout_split.json"
    cache = args.cache or CACHE_DIR / f"{model_key(args.model, args.precision)}.npz"
    embedded = embed_photos(args.model, heldout_photos(split, args.data), cache, args.precision)
    pairs = within_set_pairs(
        embedded.embeddings,
        [photo.identity for photo in embedded.photos],
        [photo.set for photo in embedded.photos],
    )
    points, shifts = calibrate_strict_points(pairs)
    calibration = FarCalibration(
        sets=tuple(sorted(pairs)),
        impostor_pairs=sum(len(p.impostor) for p in pairs.values()),
        margin_folds=len({shift.test_set for shift in shifts}),
        command="python -m training " + " ".join(sys.argv[1:]),
    )
    report = {
        "split": str(split),
        "photos": embedded.methods,
        "min_expected_false_accepts": MIN_EXPECTED,
        "min_people": MIN_PEOPLE,
        "sets": {
            n: {"people": p.people, "impostor_pairs": len(p.impostor)} for n, p in pairs.items()
        },
        "worst_shifts": worst_shifts(shifts),
        "points": [point.model_dump() for point in points],
    }
    out = evaluation_dir(args.model, args.precision) / "cross_set.json"
    for point in points:
        print(f"{point.name}: cosine {point.cosine:.4f} TAR {point.tar:.4f} x{point.far_margin}")
    if args.dry_run:
        print(json.dumps(report, indent=2))
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    metadata = ModelMetadata.load(args.model)
    view = with_strict_points(metadata.view(args.precision), points, calibration)
    metadata.with_precision(view).save(args.model)
    print(f"wrote {args.model / 'metadata.json'} and {out}")
    return 0


def worst_shifts(shifts: list[FoldShift]) -> list[dict]:
    """Per FAR target and test set: folds measured and the worst, with what it calibrated on."""
    rows = []
    for far in STRICT_FAR_TARGETS:
        for test in sorted({s.test_set for s in shifts}):
            mine = [s for s in shifts if s.far_target == far and s.test_set == test]
            if mine:
                worst = max(mine, key=lambda s: s.ratio)
                rows.append({"folds": len(mine), "median_ratio": _median(mine), **vars(worst)})
    return rows


def _median(shifts: list[FoldShift]) -> float:
    ratios = sorted(s.ratio for s in shifts)
    return ratios[len(ratios) // 2]
