"""``python -m training prepare``: detect, align and cache faces from identity folders.

Every image of ``ROOT/PERSON/IMAGE`` becomes an aligned RGB PNG crop at
``OUT/<root folder name>/<PERSON>/<image stem>.png``, so training scans the cache like a
raw set. The crops come from ``facecore.preprocess.FacePreprocessor.align_crop``, the code
the service runs. Byte-identical files are removed first (same person: one copy kept;
different people: label noise, every copy dropped). Finished images are logged to
``OUT/prepare_log.jsonl``, so an interrupted run resumes where it stopped, and only with the
settings recorded in ``OUT/prepare_settings.json`` (:mod:`training.crops.cache`); the
summary is ``OUT/prepare_report.json``. No TensorFlow is imported.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from facecore.align import DEFAULT_ALIGNMENT, TEMPLATES
from facecore.preprocess_config import FACE_POLICIES, NO_FACE_POLICIES, PreprocessConfig
from training.crops.cache import REPORT_NAME, prepare_crops
from training.data.folders import scan_identity_folders, scan_unlabelled_folders


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``prepare`` options."""
    parser.add_argument(
        "--data",
        action="append",
        default=[],
        metavar="[NAMESPACE=]PATH",
        help="identity-folder root (repeatable)",
    )
    parser.add_argument(
        "--unlabelled",
        action="append",
        default=[],
        metavar="PATH",
        help="folder of faces without identities, ROOT/IMAGE (repeatable)",
    )
    parser.add_argument("--out", required=True, type=Path, help="cache directory")
    parser.add_argument("--size", type=int, default=112, help="side of the aligned crops")
    parser.add_argument(
        "--workers",
        type=int,
        default=max(1, (os.cpu_count() or 2) - 1),
        help="worker processes, one detector each",
    )
    parser.add_argument("--face-policy", choices=FACE_POLICIES, default="largest")
    parser.add_argument("--no-face-policy", choices=NO_FACE_POLICIES, default="padded_or_center")
    parser.add_argument(
        "--alignment",
        choices=sorted(TEMPLATES),
        default=DEFAULT_ALIGNMENT,
        help="where the face lands in the crop (facecore.align.TEMPLATES)",
    )


def run(args: argparse.Namespace) -> int:
    """Prepare the cache and write the report.

    Returns:
        0 on success.
    """
    started = time.perf_counter()
    config = PreprocessConfig(
        size=args.size,
        alignment=args.alignment,
        face_policy=args.face_policy,
        no_face_policy=args.no_face_policy,
    )
    if not args.data and not args.unlabelled:
        raise ValueError("give at least one --data or --unlabelled folder")
    records = scan_identity_folders(args.data) + scan_unlabelled_folders(args.unlabelled)
    out = Path(args.out)
    report = prepare_crops(records, out, config, args.workers, started)
    totals = report["totals"]
    print(
        f"prepared {totals['crops']} crops of {totals['images']} images "
        f"({totals['skipped']} skipped, {totals['duplicates_dropped']} duplicates dropped) "
        f"in {report['wall_seconds']:.1f} s -> {out / REPORT_NAME}"
    )
    return 0
