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

import numpy as np

from facecore.quantized import PRECISIONS, evaluation_dir
from training.commands.pair_options import add_pair_arguments
from training.data.pairs import Pair
from training.evaluation.calibration import FAR_TARGETS
from training.evaluation.crop_roots import require_crops_of
from training.evaluation.heldout import calibrate, file_pairs, fold_ids, folder_pairs, score_pairs
from training.evaluation.verification import VerificationReport, verification_report


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
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="float32",
        help="score model.onnx, or the int8 block's model (--calibrate then writes its points)",
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


def run(args: argparse.Namespace) -> int:
    """Evaluate the exported model; returns the exit status."""
    from training.evaluation.embedder import OnnxEmbedder
    from training.evaluation.plots import plot_roc, plot_score_histograms

    pairs, source = collect_pairs(args)
    embedder = OnnxEmbedder(args.model, args.precision)
    require_crops_of(embedder.bundle.preprocess, args.data, str(args.model))
    scores = score_pairs(embedder, pairs, args.batch_size)
    labels = np.array([pair.same for pair in pairs])
    folds = fold_ids(pairs)
    report = verification_report(
        labels, scores, folds=folds, far_targets=FAR_TARGETS, operating_far=args.far, seed=args.seed
    )
    out = args.out or evaluation_dir(args.model, args.precision)
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
    return file_pairs(args.pairs, args.pairs_root), f"pairs file {args.pairs}"


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
