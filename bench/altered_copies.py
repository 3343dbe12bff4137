"""Altered copies: how well a photo still matches itself after what clients do to photos.

For held-out raw photos, each alteration (greyscale, JPEG quality 30, half and quarter
resolution, a 10-degree rotation) is applied to the *original file*, then both go through
the served pipeline (facecore detection + alignment + the exported ONNX model). Reports the
cosine of each altered copy to its original: mean, 5th percentile, and the share at or
above the model's default threshold. Run from the project root::

    python -m bench.altered_copies --model models/resnet18-2.7.0 --split RUN/split.json \\
        --raw-root ../shared/data/faces --sources celeba_subset frll taiwan_frontal
"""

from __future__ import annotations

import argparse
import io
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from bench.peer.our_system import OnnxFaceSystem
from bench.peer.selection import heldout_people, raw_records
from bench.results_file import write_result
from facecore.decode import decode_image


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def _scaled(image: Image.Image, factor: int) -> Image.Image:
    size = (max(1, image.width // factor), max(1, image.height // factor))
    return image.resize(size, Image.Resampling.BOX)


ALTERATIONS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "grey": lambda image: image.convert("L").convert("RGB"),
    "jpeg_q30": lambda image: _jpeg(image, 30),
    "half_resolution": lambda image: _scaled(image, 2),
    "quarter_resolution": lambda image: _scaled(image, 4),
    "rotated_10deg": lambda image: image.rotate(10, resample=Image.Resampling.BILINEAR),
}


def altered_similarities(system: OnnxFaceSystem, paths: list[Path]) -> dict[str, list[float]]:
    """Cosine of each altered copy to its original, per alteration (misses are left out).

    A copy whose face is not found counts in ``misses`` of :func:`summarise`, not here.
    """
    scores: dict[str, list[float | None]] = {name: [] for name in ALTERATIONS}
    for path in paths:
        original = Image.fromarray(decode_image(path.read_bytes()))
        reference = system.embed(np.asarray(original))
        if reference is None:
            continue
        for name, alter in ALTERATIONS.items():
            copy = system.embed(np.asarray(alter(original)))
            scores[name].append(None if copy is None else float(reference @ copy))
    return scores


def summarise(scores: dict[str, list[float | None]], threshold: float) -> dict[str, dict]:
    """Mean, 5th percentile and share above ``threshold`` per alteration."""
    summary = {}
    for name, values in scores.items():
        found = np.array([v for v in values if v is not None])
        summary[name] = {
            "photos": len(values),
            "misses": len(values) - len(found),
            "mean": round(float(found.mean()), 4) if len(found) else None,
            "p5": round(float(np.percentile(found, 5)), 4) if len(found) else None,
            "verified_at_default": round(float((found >= threshold).mean()), 4)
            if len(found)
            else None,
        }
    return summary


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/resnet18-2.7.0"))
    parser.add_argument("--split", type=Path, required=True, help="a run's split.json")
    parser.add_argument("--raw-root", type=Path, default=Path("../shared/data/faces"))
    parser.add_argument("--sources", nargs="+", default=["celeba_subset", "frll", "taiwan_frontal"])
    parser.add_argument("--photos", type=int, default=300, help="photos sampled (seeded)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("bench/results/altered_copies.json"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    records = [
        r
        for r in raw_records(heldout_people(args.split), args.raw_root)
        if r.source in args.sources
    ]
    random.Random(args.seed).shuffle(records)
    paths = [r.path for r in records[: args.photos]]
    system = OnnxFaceSystem(args.model)
    threshold = system.metadata.threshold.cosine
    summary = summarise(altered_similarities(system, paths), threshold)
    result = {
        "model": f"{system.metadata.name} {system.metadata.version}",
        "default_threshold": threshold,
        "sources": args.sources,
        "photos": len(paths),
        "alterations": summary,
    }
    write_result(args.out, result)
    print(f"| alteration | mean | p5 | verified at default ({threshold:.3f}) | misses |")
    print("|---|---|---|---|---|")
    for name, row in summary.items():
        print(
            f"| {name} | {row['mean']} | {row['p5']} | {row['verified_at_default']} | "
            f"{row['misses']} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
