"""The no-face rule and the face-quality gate on real photos and on synthetic non-faces.

For every image of each shared face set (or every ``--every``-th), and for the synthetic
pictures of ``bench.nonfaces``: is a face detected the way the service detects (padded retry,
no centre crop), and does it pass the quality gate (``facecore.quality``) at the service's
default limits? The same images sent as face crops (``face_crop=true``) too. Per set: images,
faces found, share refused by the gate and by which check; the non-faces embedded (must be
none). A sweep of ``min_confirmation`` shows the trade.

Usage: ``python -m bench.face_quality [--data ../shared/data/faces] [--every 1]
[--out bench/results/face_quality.json]``
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np

from bench.nonfaces import synthetic_nonfaces
from bench.results_file import write_result
from facecore.confirmation import confirm_face
from facecore.decode import decode_image
from facecore.errors import FaceCoreError
from facecore.preprocess import FacePreprocessor
from facecore.preprocess_config import PreprocessConfig
from facecore.quality import (
    QualityLimits,
    check_detected_face,
    check_face_crop,
)

LIMITS = {"max_bytes": 50 * 1024 * 1024, "max_pixels": 100_000_000}
SWEEP = (0.5, 0.6, 0.65, 0.7, 0.75, 0.8)
TIGHT_FACE = Path(__file__).parents[1] / "tests" / "fixtures" / "faces" / "orl" / "s1" / "1.pgm"


def judge(rgb: np.ndarray, preprocessor: FacePreprocessor, limits: QualityLimits) -> dict:
    """Return what the service would do with one image: embedded, or the refusal and why."""
    try:
        prepared = preprocessor.process(rgb)
    except FaceCoreError as exc:
        return {"outcome": exc.code, "check": exc.code}
    confirmation = confirm_face(rgb, prepared.face, preprocessor.detector)
    try:
        check_detected_face(rgb, prepared.face, preprocessor.detector, limits)
    except FaceCoreError as exc:
        return {"outcome": exc.code, "check": _check_name(str(exc)), "confirmation": confirmation}
    return {"outcome": "embedded", "confirmation": confirmation}


def judge_crop(rgb: np.ndarray, preprocessor: FacePreprocessor, limits: QualityLimits) -> dict:
    """Return what the service does with ``face_crop=true``: embedded, or which check refused."""
    try:
        check_face_crop(rgb, preprocessor, limits)
    except FaceCoreError as exc:
        return {"outcome": exc.code, "check": _check_name(str(exc))}
    return {"outcome": "embedded"}


def _check_name(message: str) -> str:
    for key, name in (
        ("between the eyes", "eye_distance"),
        ("layout", "landmark_layout"),
        ("confirmed", "confirmation"),
        ("no detail", "feature_detail"),
        ("uniform", "contrast"),
        ("blurred", "sharpness"),
        ("shortest side", "crop_size"),
        ("no face", "no_face"),
    ):
        if key in message:
            return name
    return "other"


def summarise(judged: list[dict], limits: QualityLimits) -> dict:
    """Counts per outcome and check, and the share refused at each confirmation limit."""
    found = [j for j in judged if j["outcome"] != "no_face"]
    refused = [j for j in found if j["outcome"] != "embedded"]
    other_refusals = [j for j in refused if j["check"] != "confirmation"]
    sweep = {}
    for minimum in SWEEP:
        unconfirmed = sum(
            1 for j in found if j not in other_refusals and j.get("confirmation", 0) < minimum
        )
        sweep[str(minimum)] = round((len(other_refusals) + unconfirmed) / max(len(found), 1), 4)
    return {
        "images": len(judged),
        "faces_found": len(found),
        "embedded": len(found) - len(refused),
        "refused_by_gate": len(refused),
        "refused_share": round(len(refused) / max(len(found), 1), 4),
        "refused_by_check": dict(Counter(j["check"] for j in refused)),
        "refused_share_by_min_confirmation": sweep,
    }


def run_sets(root: Path, every: int, preprocessor: FacePreprocessor, limits: QualityLimits) -> dict:
    """Judge every ``every``-th image of each set under ``root``."""
    results = {}
    for folder in sorted(path for path in root.iterdir() if path.is_dir()):
        paths = sorted(path for path in folder.glob("*/*") if path.is_file())[::every]
        judged, as_crops = [], []
        for path in paths:
            rgb = decode_image(path.read_bytes(), **LIMITS)
            judged.append(judge(rgb, preprocessor, limits))
            as_crops.append(judge_crop(rgb, preprocessor, limits))
        results[folder.name] = summarise(judged, limits)
        results[folder.name]["as_face_crops"] = crop_summary(as_crops)
        print(folder.name, results[folder.name], flush=True)
    return results


def run_nonfaces(preprocessor: FacePreprocessor, limits: QualityLimits) -> dict:
    """Judge the synthetic non-faces; list the ones that would be embedded."""
    face = decode_image(TIGHT_FACE.read_bytes(), **LIMITS)
    judged = {name: judge(rgb, preprocessor, limits) for name, rgb in synthetic_nonfaces(face)}
    summary = summarise(list(judged.values()), limits)
    summary["embedded_names"] = sorted(n for n, j in judged.items() if j["outcome"] == "embedded")
    as_crops = [judge_crop(rgb, preprocessor, limits) for _, rgb in synthetic_nonfaces(face)]
    summary["as_face_crops"] = crop_summary(as_crops)
    return summary


def crop_summary(judged: list[dict]) -> dict:
    """How many of the images sent as face crops are embedded, and why the others are not."""
    return {
        "embedded": sum(j["outcome"] == "embedded" for j in judged),
        "refused_by_check": dict(Counter(j["check"] for j in judged if "check" in j)),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/faces"))
    parser.add_argument("--every", type=int, default=1, help="judge every N-th image of a set")
    parser.add_argument("--out", type=Path, default=Path("bench/results/face_quality.json"))
    args = parser.parse_args(argv)
    limits = QualityLimits()
    preprocessor = FacePreprocessor(PreprocessConfig(no_face_policy="padded"))
    nonfaces = run_nonfaces(preprocessor, limits)
    print("non-faces", nonfaces, flush=True)
    result = {
        "limits": vars(limits),
        "preprocessing": preprocessor.config.to_dict(),
        "every": args.every,
        "nonfaces": nonfaces,
        "sets": run_sets(args.data, args.every, preprocessor, limits),
    }
    write_result(args.out, result)


if __name__ == "__main__":
    main()
