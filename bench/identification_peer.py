"""The identification benchmark's searches with dlib's own pipeline (``face_recognition``).

The same held-out photos, galleries and searches as :mod:`bench.identification`; each photo is
embedded by ``face_recognition`` (its HOG detector, landmarks, chip and network, on the largest
face) in worker processes; photos in which HOG finds no face are left out and counted, as the
benchmark does for ours. Reports rank-1/5 and FNIR at FPIR 1e-2 per set and pooled.

    python -m bench.identification_peer --data ../shared/data/faces \\
        --split models/resnet18-2.7.0/evaluation/heldout_split.json
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from bench.identification import FPIR_TARGET, measure
from bench.peer.dlib_peer import dlib_processes
from bench.results_file import write_result
from training.data.vectors import unit_rows
from training.evaluation.photo_embedder import Photo, heldout_photos


def embed_all(photos: list[Photo], processes: int) -> tuple[list[Photo], np.ndarray, int]:
    """The photos HOG found a face in, their unit-length descriptors, and the misses."""
    with dlib_processes(processes) as embed:
        vectors = embed([photo.path for photo in photos], chunksize=8)
    kept = [(p, v) for p, v in zip(photos, vectors, strict=True) if v is not None]
    found = unit_rows(np.stack([v for _, v in kept]).astype(np.float32))
    return [p for p, _ in kept], found, len(photos) - len(kept)


def main(argv: list[str] | None = None) -> int:
    """Embed with dlib's pipeline, measure each set and the pool, write the result."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/faces"))
    parser.add_argument("--split", type=Path, required=True, help="a held-out split.json")
    parser.add_argument("--fpir", type=float, default=FPIR_TARGET)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=Path("bench/results/identification_dlib.json"))
    args = parser.parse_args(argv)
    photos, vectors, missed = embed_all(heldout_photos(args.split, args.data), args.processes)
    sets = {}
    for name in sorted({photo.set for photo in photos}):
        rows = [i for i, photo in enumerate(photos) if photo.set == name]
        sets[name] = measure(vectors[rows], [photos[i] for i in rows], {}, args.fpir)
    result = {
        "system": "face_recognition (dlib HOG + ResNet)",
        "split": str(args.split),
        "fpir_target": args.fpir,
        "photos_left_out_no_face": missed,
        "sets": sets,
        "pooled": measure(vectors, photos, {}, args.fpir),
    }
    for name, row in [*sets.items(), ("pooled", result["pooled"])]:
        if "rank1" in row:
            print(
                f"{name}: rank-1 {row['rank1']:.3f}, FNIR at FPIR {args.fpir:g} "
                f"{row['at_fpir_target']['fnir']:.3f}"
            )
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
