"""``training convert-dlib``: dlib's public-domain face ResNet, exported by our own pipeline.

Reads ``dlib_face_recognition_resnet_model_v1.dat`` (Davis King, public domain; shipped by
``face-recognition-models``) without dlib (:mod:`training.model.dlib_net`), rebuilds the network as
Keras 3 layers (:mod:`training.model.dlib_keras`) and writes it with ``training export``'s code:
``model.onnx`` (+ SavedModel) and ``metadata.json`` whose preprocessing frames faces as dlib's
150x150 chips (``dlib_chip``), with the source file's SHA-256. Thresholds are placeholders
until ``training evaluate --calibrate`` / ``training calibrate``, as for a trained model.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from training.model.dlib_net import DAT_NAME, TERMS, default_dat, source_info


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``convert-dlib`` options."""
    parser.add_argument("--out", required=True, type=Path, help="export directory, models/NAME")
    parser.add_argument(
        "--dat",
        type=Path,
        help=f"dlib's {DAT_NAME} (default: the one of the face-recognition-models package)",
    )
    parser.add_argument("--name", help="model name (default: the --out folder name)")
    parser.add_argument("--version", default="1.0.0", help="model version")
    parser.add_argument("--no-saved-model", action="store_true", help="write ONNX only")
    parser.add_argument(
        "--mirror-average",
        action="store_true",
        help="serve the mean of each chip's and its mirror image's descriptors (twice the compute)",
    )
    parser.add_argument("--keras", type=Path, help="also save the Keras model to this .keras file")


def run(args: argparse.Namespace) -> int:
    """Convert and export; returns the exit status."""
    from facecore.preprocess_config import PreprocessConfig
    from training.model.dlib_keras import converted_model
    from training.model.export import export_model

    dat = args.dat or default_dat()
    if dat is None:
        raise OSError("no --dat given and face-recognition-models is not installed")
    model = converted_model(dat)
    if args.keras:
        model.save(args.keras)
    size = model.inputs[0].shape[1]
    metadata = export_model(
        model,
        args.out,
        name=args.name or args.out.name,
        version=args.version,
        preprocess=PreprocessConfig(size=size, channels=3, alignment="dlib_chip").to_dict(),
        training_info=source_info(dat, "python -m training " + shlex.join(sys.argv[1:])),
        terms=TERMS,
        saved_model=not args.no_saved_model,
        mirror_average=args.mirror_average,
    )
    print(
        f"converted {dat} to {args.out}: input {list(metadata.input.size)}, embedding "
        f"{metadata.embedding.dimension} (mirror averaged: {metadata.embedding.mirror_averaged})"
    )
    return 0
