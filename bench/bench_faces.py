"""Benchmark face decoding, detection and alignment on the shared face sets.

Measures, with the default ``PreprocessConfig``:
- per-step time (decode, detect, align + model input) on 640x480 JPEG photos made from
  CelebA in-the-wild images (median and p90 over ``--timing-images``);
- the detection rate on ``celeba_subset`` for the short-range model, the full-range model
  and short-then-full (the default);
- which path (detected / padded retry / centre crop) gives a crop on the tight-crop sets
  (ORL, Extended Yale B) and on Yale and ``celeba_aligned_small``.

Usage: ``python -m bench.bench_faces [--data DIR] [--out bench/results/faces.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

from bench.results_file import write_result
from facecore.align import align_face
from facecore.decode import decode_image
from facecore.detect import FaceDetector
from facecore.errors import FaceCoreError
from facecore.preprocess import FacePreprocessor, to_model_input
from facecore.preprocess_config import PreprocessConfig

LIMITS = {"max_bytes": 50 * 1024 * 1024, "max_pixels": 100_000_000}


def images_of(root: Path, every: int = 1) -> list[Path]:
    return sorted(p for p in root.glob("*/*") if p.is_file())[::every]


def load(path: Path) -> np.ndarray:
    return decode_image(path.read_bytes(), **LIMITS)


def photo_640x480(rgb: np.ndarray) -> bytes:
    """Scale a photo to 480 px high and reflect-pad / crop it to a 640x480 JPEG."""
    height, width = rgb.shape[:2]
    scaled = cv2.resize(rgb, (round(width * 480 / height), 480), interpolation=cv2.INTER_CUBIC)
    pad = max(0, 640 - scaled.shape[1])
    framed = cv2.copyMakeBorder(scaled, 0, 0, pad // 2, pad - pad // 2, cv2.BORDER_REFLECT)
    left = (framed.shape[1] - 640) // 2
    ok, encoded = cv2.imencode(
        ".jpg",
        cv2.cvtColor(framed[:, left : left + 640], cv2.COLOR_RGB2BGR),
        [cv2.IMWRITE_JPEG_QUALITY, 90],
    )
    assert ok
    return encoded.tobytes()


def time_steps(paths: list[Path], config: PreprocessConfig, rounds: int = 3) -> dict:
    """Median / p90 milliseconds of decode, detect, align on 640x480 JPEG photos.

    One untimed warm-up pass, then ``rounds`` timed passes over all photos.
    """
    detector = FaceDetector(config.detector_models, config.min_confidence, config.nms_iou)
    photos = [photo_640x480(load(path)) for path in paths]
    steps: dict[str, list[float]] = {"decode": [], "detect": [], "align": [], "total": []}
    for round_index in range(rounds + 1):
        for data in photos:
            timings = _time_one(data, detector, config)
            if round_index > 0:
                for name, milliseconds in timings.items():
                    steps[name].append(milliseconds)
    return {
        name: {
            "median_ms": round(float(np.median(v)), 3),
            "p90_ms": round(float(np.percentile(v, 90)), 3),
        }
        for name, v in steps.items()
    } | {"photos": len(photos), "rounds": rounds, "size": "640x480 JPEG q90"}


def _time_one(data: bytes, detector: FaceDetector, config: PreprocessConfig) -> dict[str, float]:
    """Milliseconds of each step for one encoded photo."""
    start = time.perf_counter()
    rgb = decode_image(data, **LIMITS)
    decoded = time.perf_counter()
    faces = detector.detect(rgb)
    detected = time.perf_counter()
    if faces:
        face = max(faces, key=lambda f: f.area)
        to_model_input(
            align_face(rgb, face.landmarks, config.size, config.alignment),
            config.size,
            config.channels,
        )
    aligned = time.perf_counter()
    return {
        "decode": (decoded - start) * 1000,
        "detect": (detected - decoded) * 1000,
        "align": (aligned - detected) * 1000,
        "total": (aligned - start) * 1000,
    }


def detection_rates(paths: list[Path]) -> dict:
    """Share of images with at least one face for each detector choice, plus the speed."""
    detectors = {"short": FaceDetector(("short",)), "full": FaceDetector(("full",))}
    found = Counter()
    seconds: dict[str, list[float]] = {"short": [], "full": []}
    missed_by_default: list[str] = []
    several = 0
    for path in paths:
        rgb = load(path)
        hits = {}
        for name, detector in detectors.items():
            start = time.perf_counter()
            hits[name] = detector.detect(rgb)
            seconds[name].append((time.perf_counter() - start) * 1000)
            found[name] += bool(hits[name])
        default = hits["short"] or hits["full"]
        found["short_then_full"] += bool(default)
        several += len(default) > 1
        if not default:
            missed_by_default.append(str(path))
    total = len(paths)
    return {
        "images": total,
        "found_rate": {name: round(count / total, 4) for name, count in sorted(found.items())},
        "median_detect_ms_on_320px": {
            name: round(float(np.median(v)), 3) for name, v in seconds.items()
        },
        "images_with_several_faces": several,
        "missed_by_short_then_full": missed_by_default,
    }


def crop_paths(paths: list[Path], preprocessor: FacePreprocessor) -> dict:
    """How each image of a set gets its crop under the default policies."""
    methods = Counter()
    failed: list[str] = []
    for path in paths:
        try:
            methods[preprocessor.align_crop(load(path)).method] += 1
        except FaceCoreError:
            failed.append(str(path))
    total = len(paths)
    return {
        "images": total,
        "methods": dict(sorted(methods.items())),
        "crop_rate": round((total - len(failed)) / total, 4),
        "no_crop": failed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path("../shared/data/faces"))
    parser.add_argument("--out", type=Path, default=Path("bench/results/faces.json"))
    parser.add_argument("--timing-images", type=int, default=200)
    parser.add_argument("--celeba-every", type=int, default=1, help="use every N-th image")
    parser.add_argument(
        "--aligned-every", type=int, default=10, help="use every N-th celeba_aligned_small image"
    )
    args = parser.parse_args()
    config = PreprocessConfig()
    celeba = images_of(args.data / "celeba_subset", args.celeba_every)
    timing_paths = celeba[:: max(1, len(celeba) // args.timing_images)][: args.timing_images]
    preprocessor = FacePreprocessor(config)
    every = {"orl": 1, "extended_yaleb": 1, "yale": 1, "celeba_aligned_small": args.aligned_every}
    results = {
        "machine": {
            "cpu_count": os.cpu_count(),
            "processor": platform.processor(),
            "python": platform.python_version(),
            "litert_threads": 1,
        },
        "preprocessing": config.to_dict(),
        "timing_640x480": time_steps(timing_paths, config),
        "celeba_subset_detection": detection_rates(celeba),
        "crops_by_set": {
            name: crop_paths(images_of(args.data / name, step), preprocessor)
            for name, step in every.items()
        },
    }
    write_result(args.out, results)
    summary = {key: results[key] for key in ("timing_640x480",)}
    summary["found_rate"] = results["celeba_subset_detection"]["found_rate"]
    summary["crops"] = {
        k: (v["methods"], v["crop_rate"]) for k, v in results["crops_by_set"].items()
    }
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
