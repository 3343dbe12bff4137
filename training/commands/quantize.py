"""``training quantize``: an INT8 copy of an export, calibrated, evaluated against float32.

Calibrates ONNX Runtime's static quantisation on original photos of people the split did not
hold out (``--data``: raw ``ROOT/PERSON/IMAGE`` folders, prepared as the service prepares an
upload), writes ``MODEL/model.int8.onnx``, scores float32 and INT8 on the held-out pairs of
``--eval-data`` (prepared crops, as ``evaluate --data``), calibrates INT8's points as ``evaluate
--calibrate`` does and writes the ``int8`` block of ``metadata.json``. Then run ``evaluate
--precision int8 --calibrate`` and ``calibrate --precision int8`` as for float32.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from facecore.file_digest import file_sha256
from facecore.metadata import ModelMetadata
from facecore.model_bundle import ModelBundle
from facecore.quantized import Int8Block
from training.commands.pair_options import add_pair_arguments
from training.evaluation.calibration import with_operating_points
from training.evaluation.heldout import folder_pairs
from training.model.quantize import (
    METHODS,
    QuantizeOptions,
    calibration_photos,
    calibration_pixels,
    float_nodes,
    quantize_model,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``quantize`` options."""
    parser.add_argument("--model", required=True, type=Path, help="exported model directory")
    parser.add_argument(
        "--data", required=True, nargs="+", metavar="ROOT", help="raw photos: PATH or NS=PATH"
    )
    add_pair_arguments(parser, data_flag="--eval-data")
    parser.add_argument("--calibration-images", type=int, default=256, help="photos (people)")
    parser.add_argument("--method", choices=sorted(METHODS), default="percentile")
    parser.add_argument(
        "--keep-first-conv", action="store_true", help="leave the first convolution in float32"
    )


def run(args: argparse.Namespace) -> int:
    """Quantise, evaluate and write the int8 block; returns the exit status."""
    from training.evaluation.precision import compare_precisions  # ONNX Runtime

    if args.split is None or not args.eval_data:
        raise ValueError("quantize needs --split (held-out people) and --eval-data (their crops)")
    bundle = ModelBundle.load(args.model)
    excluded = float_nodes(bundle, args.keep_first_conv)
    options = QuantizeOptions(method=args.method, nodes_excluded=excluded)
    photos = calibration_photos(args.split, args.data, args.calibration_images)
    pixels = calibration_pixels(bundle, photos, args.calibration_images)
    out = quantize_model(bundle, pixels, options)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB), calibrated on {len(pixels)} photos")
    pairs, source, _ = folder_pairs(args.split, args.eval_data, args.impostors, args.seed)
    comparison = compare_precisions(args.model, out, pairs, source, args.batch_size, args.seed)
    metadata = ModelMetadata.load(args.model)
    calibrated = with_operating_points(metadata, comparison.int8_points, source)
    where = f"first photo of each person outside {args.split} under {args.data}"
    command = "python -m training " + " ".join(sys.argv[1:])
    evaluation = comparison.evaluation
    block = Int8Block(
        file=out.name,
        sha256=file_sha256(out),
        quantization=options.record(len(pixels), where, command),
        threshold=calibrated.threshold,
        operating_points=calibrated.operating_points,
        evaluation=evaluation,
        within_budget=evaluation.within_budget,
    )
    metadata.model_copy(update={"int8": block}).save(args.model)
    print(evaluation.model_dump_json(indent=2))
    print(f"within budget: {evaluation.within_budget}; wrote {args.model / 'metadata.json'}")
    return 0
