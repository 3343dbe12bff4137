"""Our detector + ``dlib_chip`` template against dlib's own chips, for the converted dlib model.

For held-out photos of the in-the-wild sets: dlib's chip (its 5-point landmarks inside our
detector's box, ``dlib.get_face_chip``, 150 px, padding 0.25) embedded by dlib itself and by
the converted export (the conversion's agreement), and our crops (BlazeFace's four points
warped to a template at 150 px) embedded by the export (the alignment's agreement with dlib's
own descriptor), each scored on all pairs of the photos. The template is also refitted:
where our four points land in dlib's chips of training photos (people not held out), through
the similarity that ``get_face_chip_details`` (``dlib/image_transforms/interpolation.h``)
fits from dlib's 5-point template to its landmarks.

    python -m bench.dlib_alignment --model models/dlib-resnet-v1 \
        --split models/resnet18-2.7.0/evaluation/heldout_split.json \
        --out bench/results/dlib_alignment.json
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import cv2
import numpy as np

from bench.dlib_alignment_parts import DlibChipper, pair_figures, summary
from facecore.align import TEMPLATE_SIZE, TEMPLATES, similarity_transform
from facecore.decode import decode_image
from facecore.model_bundle import ModelBundle
from facecore.onnx_model import OnnxModel
from facecore.preprocess import FacePreprocessor
from training.data.folders import scan_identity_folders

RAW = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "faces"
WILD = ("celeba_subset", "celeba_aligned_small", "frll", "taiwan_frontal")
NAMESPACES = {"celeba_subset": "celeba", "celeba_aligned_small": "celeba"}
BATCH = 32


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="the converted export")
    parser.add_argument("--split", type=Path, required=True, help="heldout_split.json")
    parser.add_argument("--raw", type=Path, default=RAW, help="raw sets (default %(default)s)")
    parser.add_argument("--fit-photos", type=int, default=1000, help="training photos to refit")
    parser.add_argument("--limit", type=int, help="held-out photos at most (seeded sample)")
    parser.add_argument("--out", type=Path, help="write the result here (JSON)")
    return parser.parse_args(argv)


def records(raw: Path, heldout: set[str], held: bool) -> list:
    """The in-the-wild photos of the held-out people (``held``) or of everyone else."""
    specs = [f"{NAMESPACES.get(s, s)}={raw / s}" for s in WILD]
    return [r for r in scan_identity_folders(specs) if (r.identity in heldout) == held]


def refit_template(chipper: DlibChipper, photos: list) -> dict:
    """Mean position of our four points in dlib's chips (112-px units), and its mirror mean."""
    points = []
    for record in photos:
        found = chipper.landmarks(decode_image(record.path.read_bytes()))
        if found is not None:
            points.append(chipper.in_chip(*found))
    mean = np.mean(points, axis=0) * (TEMPLATE_SIZE / chipper.size)
    mirrored = mean[[1, 0, 2, 3]] * [-1, 1] + [TEMPLATE_SIZE, 0]
    return {
        "photos": len(points),
        "mean": mean.round(2).tolist(),
        "symmetric": ((mean + mirrored) / 2).round(2).tolist(),
        "std": (np.std(points, axis=0) * (TEMPLATE_SIZE / chipper.size)).round(2).tolist(),
    }


def warp(rgb: np.ndarray, points: np.ndarray, template: np.ndarray, size: int) -> np.ndarray:
    """Our crop of ``rgb``: ``points`` onto ``template`` (112-px units) at ``size`` px."""
    matrix = similarity_transform(points, template * (size / TEMPLATE_SIZE))
    return cv2.warpAffine(rgb, matrix, (size, size), flags=cv2.INTER_LINEAR, borderValue=0)


def embed_heldout(chipper: DlibChipper, model: OnnxModel, photos: list, templates: dict) -> dict:
    """Embed every held-out photo: dlib and the export on dlib's chip, the export on our crops."""
    vectors: dict[str, list] = {"dlib": [], "converted_dlib_chip": []}
    vectors |= {f"converted_{name}": [] for name in templates}
    identities, batch = [], []
    for record in photos:
        rgb = decode_image(record.path.read_bytes())
        found = chipper.landmarks(rgb)
        if found is None:
            continue
        ours, shape = found
        crops = [warp(rgb, ours, t, chipper.size) for t in templates.values()]
        batch.append((chipper.chip(rgb, shape), crops))
        identities.append(record.identity)
        if len(batch) == BATCH:
            _embed_batch(chipper, model, batch, vectors, list(templates))
    _embed_batch(chipper, model, batch, vectors, list(templates))
    return {"identities": identities} | {k: np.concatenate(v) for k, v in vectors.items()}


def _embed_batch(chipper, model, batch: list, vectors: dict, names: list[str]) -> None:
    """Embed one batch into ``vectors`` and empty it."""
    if not batch:
        return
    chips = np.stack([chip for chip, _ in batch])
    vectors["dlib"].append(chipper.descriptors(chips))
    vectors["converted_dlib_chip"].append(model.embed(chips.astype(np.float32)))
    for index, name in enumerate(names):
        crops = np.stack([crops[index] for _, crops in batch]).astype(np.float32)
        vectors[f"converted_{name}"].append(model.embed(crops))
    batch.clear()


def main(argv: list[str] | None = None) -> int:
    """Measure, print and write the JSON result."""
    args = parse_args(argv)
    started = time.perf_counter()
    heldout = set(json.loads(args.split.read_text())["heldout_identities"])
    bundle = ModelBundle.load(args.model)
    chipper = DlibChipper(FacePreprocessor(bundle.preprocess), bundle.size)
    training = records(args.raw, heldout, held=False)
    random.Random(0).shuffle(training)
    fitted = refit_template(chipper, training[: args.fit_photos])
    templates = {
        "current": TEMPLATES["dlib_chip"],
        "refit": np.array(fitted["mean"]),
        "refit_symmetric": np.array(fitted["symmetric"]),
    }
    photos = records(args.raw, heldout, held=True)
    if args.limit:
        photos = random.Random(1).sample(photos, min(args.limit, len(photos)))
    embedded = embed_heldout(chipper, OnnxModel(bundle), photos, templates)
    result = {
        "model": str(args.model),
        "sets": list(WILD),
        "refit_template": fitted,
        **summary(embedded),
        "pairs": pair_figures(embedded),
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
