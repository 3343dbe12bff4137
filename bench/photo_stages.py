"""Where a raw photo's time goes in the service's preparation, stage by stage, in one thread.

The service's own ``ImagePreparer`` (default settings, the served model's preprocessing) on
the raw photos of ``bench.photo_throughput``, with facecore's stages wrapped by a timer
(``bench.stage_timer``: self time, nested stages apart), then the model on batches of 16.
HTTP, scheduling and the worker processes' hand-over are not in it (``py-spy`` on the server
shows those). ``--save`` keeps each photo's model pixels and embedding, to compare two runs.

    python -m bench.photo_stages [--photos 200] [--save before.npz] [--compare before.npz]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

import facecore.confirmation
import facecore.detect
import facecore.preprocess
import facecore.quality
from app.inference import image_preparation
from app.inference.image_input import ImageInput
from app.inference.image_preparation import ImagePreparer
from app.inference.memory_budget import MemoryBudget
from app.inference.model_loading import load_model
from app.settings import Settings
from bench.photo_throughput import ROOT, raw_photos
from bench.results_file import write_result
from bench.stage_timer import StageTimer
from facecore.errors import FaceCoreError

BATCH = 16
DETECTOR_SIDES = {128: "short", 192: "full"}


def _blazeface_label(stack: list[str], model: facecore.detect.BlazeFace, _rgb: object) -> str:
    where = "confirmation frame" if "confirmation" in stack else "photo"
    return f"BlazeFace {DETECTOR_SIDES.get(model._size, model._size)} on the {where}"


# (module, attribute, stage): the functions timed, where the preparation looks them up.
STAGES = [
    (image_preparation, "decode_image_reduced", "decode (JPEG, to RGB)"),
    (facecore.preprocess, "bounded_copy", "detection copy (<= 1024 px)"),
    (facecore.detect.BlazeFace, "_letterbox", "detector input resize + float"),
    (facecore.detect.BlazeFace, "detect", _blazeface_label),
    (facecore.detect, "decode_predictions", "box decode"),
    (facecore.detect, "weighted_nms", "NMS"),
    (facecore.preprocess, "align_face", "alignment warp (model crop)"),
    (facecore.preprocess, "to_model_input", "to model input"),
    (facecore.quality, "landmark_misfit", "gate: landmark layout"),
    (facecore.quality, "frame_face", "gate: confirmation warp"),
    (facecore.confirmation, "_equalised", "gate: confirmation CLAHE"),
    (facecore.quality, "confirmation", "confirmation"),
    (facecore.quality, "feature_detail", "gate: feature detail"),
    (facecore.quality, "align_face", "gate: 112-px arcface warp"),
    (facecore.quality, "check_crop_detail", "gate: contrast, sharpness"),
    (ImagePreparer, "_prepare", "preparation glue (rest)"),
]


def instrument(timer: StageTimer) -> None:
    """Replace each function of ``STAGES`` by its timed wrapper (this process only)."""
    for owner, attribute, stage in STAGES:
        setattr(owner, attribute, timer.wrap(stage, getattr(owner, attribute)))


def prepare_all(preparer: ImagePreparer, photos: list[Path], timer: StageTimer) -> tuple:
    """Prepare every photo: the model pixels (None: refused) and the outcome of each."""
    pixels, outcomes = [], []
    for path in photos:
        data = timer.run("read file", path.read_bytes)
        try:
            prepared = preparer.prepare(ImageInput(data, request_bytes=len(data)), False)
        except FaceCoreError as error:
            pixels.append(None)
            outcomes.append(type(error).__name__)
            continue
        pixels.append(prepared.pixels)
        outcomes.append("embedded")
    return pixels, outcomes


def embed_all(runtime, pixels: list, timer: StageTimer) -> np.ndarray:
    """Embeddings of the prepared photos, in batches of ``BATCH`` (refused ones: zeros)."""
    kept = [i for i, image in enumerate(pixels) if image is not None]
    dimension = None
    out: dict[int, np.ndarray] = {}
    for start in range(0, len(kept), BATCH):
        chunk = kept[start : start + BATCH]
        batch = np.stack([pixels[i] for i in chunk])
        vectors = timer.run("model (batches of 16)", runtime.embed, batch)
        dimension = vectors.shape[1]
        out.update(zip(chunk, vectors, strict=True))
    return np.stack([out.get(i, np.zeros(dimension or 1, np.float32)) for i in range(len(pixels))])


def compare(saved: Path, embeddings: np.ndarray, outcomes: list[str]) -> dict:
    """Outcomes changed and the least cosine between this run's and a saved run's embeddings."""
    before = np.load(saved)
    changed = sum(o != p for o, p in zip(outcomes, before["outcomes"], strict=True))
    same = [i for i, o in enumerate(outcomes) if o == "embedded" and before["outcomes"][i] == o]
    a, b = embeddings[same], before["embeddings"][same]
    cosine = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return {
        "outcomes_changed": int(changed),
        "compared": len(same),
        "min_cosine": float(cosine.min()),
        "mean_cosine": float(cosine.mean()),
        "identical": int((a == b).all(axis=1).sum()),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "dlib-resnet-v1")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "faces")
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--save", type=Path, help="keep outcomes and embeddings (.npz)")
    parser.add_argument("--compare", type=Path, help="a --save file of an earlier run")
    default_out = ROOT / "bench" / "results" / "photo_stages.json"
    parser.add_argument("--out", type=Path, default=default_out)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = Settings(model_path=args.model)
    loaded = load_model(settings)
    preparer = ImagePreparer(settings, loaded.config, MemoryBudget(1 << 30, wait_s=1.0))
    photos = raw_photos(args.data, args.photos)
    prepare_all(preparer, photos[:8], StageTimer())  # warm-up, not timed
    timer = StageTimer()
    instrument(timer)
    load, started = os.getloadavg(), time.perf_counter()
    pixels, outcomes = prepare_all(preparer, photos, timer)
    embeddings = embed_all(loaded.runtime, pixels, timer)
    report = {
        "photos": len(photos),
        "model": args.model.name,
        "seconds": time.perf_counter() - started,
        "embedded": outcomes.count("embedded"),
        "load_before": load,
        "load_after": os.getloadavg(),
        "stages": timer.table(len(photos)),
    }
    if args.compare:
        report["compare"] = compare(args.compare, embeddings, outcomes)
    if args.save:
        np.savez(args.save, embeddings=embeddings, outcomes=np.array(outcomes))
    for row in report["stages"]:
        print(
            f"| {row['stage']} | {row['cpu_ms_per_photo']:.2f} | {row['wall_ms_per_photo']:.2f}"
            f" | {100 * row['cpu_share']:.1f} % | {row['calls']} |"
        )
    print({key: value for key, value in report.items() if key != "stages"})
    write_result(args.out, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
