"""``training evaluate``: verification metrics of an exported model on unseen people.

Pairs come from identity folders (every genuine pair plus a seeded impostor sample,
restricted to the held-out people of a run with ``--split``) or from an LFW-style
``pairs.txt``. Images go through the exported ONNX model, so the figures describe exactly
what the service runs. ``--calibrate`` stores the operating threshold in the export.
"""

from __future__ import annotations

import argparse
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
from training.evaluation.calibration import FAR_TARGETS, operating_points, with_operating_points
from training.evaluation.crop_roots import require_crops_of
from training.evaluation.verification import (
    VerificationReport,
    cosine_similarities,
    verification_report,
)

MIN_IMPOSTORS = 10_000  # enough to measure FAR 1e-3 with some confidence
SCORE_CHUNK = 65_536  # pairs scored per matrix product


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``evaluate`` options."""
    parser.add_argument("--model", required=True, type=Path, help="exported model directory")
    add_pair_arguments(parser)
    parser.add_argument("--pairs", type=Path, help="LFW-style pairs.txt instead of folders")
    parser.add_argument(
        "--pairs-root",
        type=Path,
        help="image root of --pairs (NAME/NAME_0001.jpg, or .png in a prepared cache)",
    )
    parser.add_argument("--far", type=float, default=1e-3, help="FAR of the operating point")
    parser.add_argument("--out", type=Path, help="report folder (default: MODEL/evaluation)")
    parser.add_argument(
        "--calibrate",
        action="store_true",
        help="write the operating points (best accuracy: the default; FAR 1e-2 .. 1e-5, each "
        "where the impostor pairs can measure it) "
        "and the figures into metadata.json",
    )


def add_pair_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the options of :func:`folder_pairs` and of scoring (``evaluate``, ``compare``)."""
    parser.add_argument(
        "--data",
        nargs="+",
        action="extend",
        default=[],
        metavar="ROOT",
        help="identity folders as PATH or NAMESPACE=PATH",
    )
    parser.add_argument("--split", type=Path, help="split.json of a run: held-out people only")
    parser.add_argument(
        "--impostors",
        type=int,
        default=None,
        help=f"impostor pairs to sample (default: as many as genuine pairs, "
        f"at least {MIN_IMPOSTORS})",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the impostor sample, folds and resamples"
    )
    parser.add_argument("--batch-size", type=int, default=64, help="images per ONNX call")


def run(args: argparse.Namespace) -> int:
    """Evaluate the exported model; returns the exit status."""
    from training.evaluation.embedder import OnnxEmbedder
    from training.evaluation.plots import plot_roc, plot_score_histograms

    pairs, source = collect_pairs(args)
    embedder = OnnxEmbedder(args.model)
    require_crops_of(embedder.bundle.preprocess, args.data, str(args.model))
    scores = score_pairs(embedder, pairs, args.batch_size)
    labels = np.array([pair.same for pair in pairs])
    folds = fold_ids(pairs)
    report = verification_report(
        labels, scores, folds=folds, far_targets=FAR_TARGETS, operating_far=args.far, seed=args.seed
    )
    out = args.out or args.model / "evaluation"
    out.mkdir(parents=True, exist_ok=True)
    summary = {"model": str(args.model), "source": source, **report.to_dict()}
    (out / "report.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    threshold = report.operating_point["threshold"]
    plot_roc(labels, scores, report.auc, out / "roc.png")
    plot_score_histograms(scores[labels], scores[~labels], threshold, out / "scores.png")
    print_summary(report, out)
    if args.calibrate:
        calibrate(args.model, embedder.metadata, labels, scores, report, source)
    return 0


def collect_pairs(args: argparse.Namespace) -> tuple[list[Pair], str]:
    """Build the pairs the options ask for, with a one-line description of their source."""
    if not args.pairs:
        if args.pairs_root:
            raise ValueError("--pairs-root goes with --pairs")
        pairs, source, _ = folder_pairs(args.split, args.data, args.impostors, args.seed)
        return pairs, source
    if not args.pairs_root:
        raise ValueError("--pairs needs --pairs-root (the folder holding NAME/NAME_0001.jpg)")
    given = {"--data": args.data, "--split": args.split, "--impostors": args.impostors}
    ignored = [flag for flag, value in given.items() if value]
    if ignored:
        raise ValueError(f"--pairs takes its pairs from the file; drop {', '.join(ignored)}")
    pairs = [
        Pair(find_image(pair.first), find_image(pair.second), pair.same, pair.fold)
        for pair in parse_lfw_pairs(args.pairs, args.pairs_root)
    ]
    missing = [p for pair in pairs for p in (pair.first, pair.second) if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} images of {args.pairs} missing: {missing[0]}")
    return pairs, f"pairs file {args.pairs}"


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


def score_pairs(embedder: Any, pairs: list[Pair], batch_size: int) -> np.ndarray:
    """Embed every distinct image once and return the cosine similarity of each pair.

    Pairs are scored in chunks, so millions of impostor pairs (FAR 1e-5) fit in memory.
    """
    paths, first, second = pair_rows(pairs)
    embeddings = embedder.embed_files(paths, batch_size)
    chunks = [
        cosine_similarities(
            embeddings[first[i : i + SCORE_CHUNK]], embeddings[second[i : i + SCORE_CHUNK]]
        )
        for i in range(0, len(pairs), SCORE_CHUNK)
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

    The default threshold becomes the best-accuracy point (:mod:`training.evaluation.calibration`).
    """
    points = operating_points(labels, scores)
    evaluation = {"source": source, **report.to_dict()}
    calibrated = with_operating_points(metadata, points, source)
    calibrated.model_copy(update={"evaluation": evaluation}).save(model_dir)
    for point in points:
        print(
            f"operating point {point.name}: cosine {point.cosine:.4f}, TAR {point.tar:.4f}, "
            f"FAR {point.far:.5f}"
        )
    print(
        f"calibrated {model_dir / 'metadata.json'}: default threshold "
        f"{calibrated.threshold.cosine:.4f}"
    )


def print_summary(report: VerificationReport, out: Path) -> None:
    """Print the headline figures."""
    accuracy = report.accuracy
    point = report.operating_point
    print(f"pairs: {report.genuine_pairs} genuine, {report.impostor_pairs} impostor")
    print(f"balanced accuracy (10-fold): {accuracy.mean:.4f} +/- {accuracy.std:.4f}")
    print(f"AUC {report.auc:.4f}  EER {report.eer:.4f}")
    for far, tar in report.tar_at_far.items():
        print(f"TAR @ FAR {far}: {tar:.4f}")
    print(
        f"operating point FAR {point['far_target']:g}: threshold {point['threshold']:.4f}, "
        f"TAR {point['tar']:.4f}, measured FAR {point['far']:.5f}"
    )
    for note in report.notes:
        print(f"note: {note}")
    print(f"report and plots in {out}")
