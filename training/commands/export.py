"""``training export``: the feature model as ONNX + SavedModel + ``metadata.json``.

The exported graph (:mod:`training.model.export`) takes raw pixel values and returns
L2-normalised embeddings, as the service serves them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from training.model.export import FEATURE_LAYER, export_model, load_checkpoint


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``export`` options."""
    parser.add_argument("--checkpoint", required=True, type=Path, help="RUN/best.keras")
    parser.add_argument("--out", required=True, type=Path, help="export directory, models/NAME")
    parser.add_argument("--name", help="model name (default: the --out folder name)")
    parser.add_argument("--version", default="1.0.0", help="model version")
    parser.add_argument("--run-dir", type=Path, help="training run (default: checkpoint folder)")
    parser.add_argument("--no-saved-model", action="store_true", help="write ONNX only")
    parser.add_argument(
        "--embedding-layer",
        nargs="+",
        default=[FEATURE_LAYER],
        metavar="LAYER",
        help="layer(s) served as the embedding (default: %(default)s); several are joined "
        "with equal weight, e.g. feature teacher_projection",
    )
    parser.add_argument(
        "--mirror-average",
        action="store_true",
        help="serve the mean of each face's and its mirror image's embeddings: more accurate, "
        "twice the model's compute per face",
    )


def run(args: argparse.Namespace) -> int:
    """Export the checkpoint; returns the exit status."""
    from training.data import run_info

    run_dir = args.run_dir or args.checkpoint.parent
    model = load_checkpoint(args.checkpoint)
    _, height, _, channels = model.inputs[0].shape
    metadata = export_model(
        model,
        args.out,
        name=args.name or args.out.name,
        version=args.version,
        preprocess=run_info.preprocessing(run_dir, height, channels),
        training_info=run_info.training_info(run_dir),
        saved_model=not args.no_saved_model,
        embedding_layers=args.embedding_layer,
        mirror_average=args.mirror_average,
    )
    print(f"exported {metadata.name} {metadata.version} to {args.out}")
    print(
        f"input {list(metadata.input.size)}x{metadata.input.channels}, "
        f"embedding {metadata.embedding.dimension}, threshold {metadata.threshold.cosine} "
        f"(calibrated: {metadata.threshold.calibrated})"
    )
    return 0
