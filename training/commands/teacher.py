"""``python -m training teacher``: embed every prepared face once with the teacher model.

The teacher is dlib's face-recognition ResNet, used for training only. Two backends compute it:

- ``dlib`` (default): dlib itself, on dlib's own 150x150 chip of the face ``prepare`` found in
  the *original* photo (:mod:`training.teacher.dlib_backend`);
- ``onnx``: an export of the network (``training convert-dlib``, by default
  ``models/dlib-resnet-v1``) through ONNX Runtime, on the chip our own detector and the
  export's alignment cut from the original photo, as the service serves it; no dlib
  (:mod:`training.teacher.onnx_backend`).

Vectors are cached per crop beside the crops (:mod:`training.teacher.cache`); re-running
resumes, and the cache records which backend and export made them, so a run with another
one is refused instead of mixed in. ``--view mirror`` embeds each chip mirrored left to right
into its own folder, for targets averaged over both views; the ``onnx`` backend refuses it for
a mirror-averaged export, whose every vector already is the mean of both views.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from training.teacher import cache as teacher_cache
from training.teacher.embed import choose_backend, embed_cache


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``teacher`` options."""
    parser.add_argument(
        "--cache", required=True, type=Path, help="a `training prepare` output directory"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes, one teacher each (onnx: one ONNX Runtime thread each)",
    )
    parser.add_argument("--limit", type=int, default=None, help="embed at most this many crops")
    parser.add_argument(
        "--view",
        choices=teacher_cache.VIEWS,
        default=teacher_cache.ORIGINAL,
        help="embed each chip as cut (original) or mirrored left to right (mirror); the onnx "
        "backend refuses mirror for a mirror-averaged export (its vectors are both views' mean): "
        "give it a single-view one (convert-dlib without --mirror-average)",
    )
    parser.add_argument(
        "--backend",
        choices=teacher_cache.BACKENDS,
        default="dlib",
        help="dlib: dlib itself on dlib's chips; onnx: --model through ONNX Runtime on the chips "
        "of our own detector and the export's alignment, as served (no dlib needed)",
    )
    parser.add_argument(
        "--model",
        type=Path,
        help="export directory of the onnx backend (default: models/dlib-resnet-v1)",
    )


def run(args: argparse.Namespace) -> int:
    """Embed the crops not embedded yet and write ``teacher/report.json``."""
    started = time.perf_counter()
    backend = choose_backend(args.backend, args.view, args.model)
    report = embed_cache(args.cache, args.view, backend, args.workers, args.limit, started)
    print(
        f"teacher: {report['embedded']} of {report['crops']} crops embedded, "
        f"{report['failed']} failed ({report['wall_seconds']:.0f} s)"
    )
    return 0
