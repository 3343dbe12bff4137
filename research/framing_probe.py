"""How the crop's framing changes the teacher: its EER on held-out photos in each template.

The teacher (dlib's face-recognition ResNet) is given, for every held-out photo of one set:
its own 150x150 chip (dlib's landmarks), and our BlazeFace landmarks warped to each of
``facecore.align.TEMPLATES`` at 150 px. It also measures where BlazeFace finds the four points
in dlib's chips of training photos, the source of the ``dlib_chip`` template.

    python -m research.framing_probe --cache data_cache/faces112_v2 \
        --split runs/default_v4/split.json --out research/results/framing.json
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np

from facecore.align import TEMPLATES, align_face
from facecore.decode import decode_image
from facecore.preprocess import FacePreprocessor
from facecore.preprocess_config import PreprocessConfig
from training.crops.cache import LOG_NAME, read_log
from training.evaluation.verification import equal_error_rate
from training.teacher import dlib_backend as teacher

CHIP = 150  # dlib's chip side


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, required=True, help="a prepare output (boxes)")
    parser.add_argument("--split", type=Path, required=True, help="a run's split.json")
    parser.add_argument("--source", default="celeba_subset", help="held-out set to score")
    parser.add_argument("--template-photos", type=int, default=1000, help="training chips")
    parser.add_argument("--out", type=Path, help="write the result here (JSON)")
    return parser.parse_args()


def log_entries(cache: Path, rows: list[dict]) -> list[tuple[dict, str]]:
    """``(prepare log entry, identity)`` of split rows whose face was detected."""
    by_crop = {e["crop"]: e for e in read_log(cache / LOG_NAME).values() if "crop" in e}
    found = []
    for row in rows:  # the split may name another cache of the same photos: key SET/PERSON/IMAGE
        entry = by_crop[str(Path(row["path"]).relative_to(Path(row["path"]).parents[2]))]
        if entry.get("method") == "detected":
            found.append((entry, row["identity"]))
    return found


def landmarks(pre: FacePreprocessor, rgb: np.ndarray) -> np.ndarray | None:
    faces, _ = pre.find_faces(np.ascontiguousarray(rgb))
    return pre.choose(faces).landmarks[:4] if faces else None


def chip_template(pre: FacePreprocessor, entries: list[tuple[dict, str]]) -> dict:
    """Mean and spread of BlazeFace's points in dlib's chips, scaled to 112 px."""
    points = [landmarks(pre, teacher.face_chip(Path(e["path"]), e.get("box"))) for e, _ in entries]
    found = np.array([p for p in points if p is not None]) * (112 / CHIP)
    return {
        "chips": len(found),
        "mean": [[round(float(v), 2) for v in point] for point in found.mean(axis=0)],
        "std": [[round(float(v), 2) for v in point] for point in found.std(axis=0)],
    }


def framed_eers(pre: FacePreprocessor, entries: list[tuple[dict, str]]) -> dict:
    """The teacher's EER over all pairs, per framing of the same photos."""
    vectors: dict[str, list] = {"dlib_own_chip": []} | {name: [] for name in TEMPLATES}
    kept = []
    for entry, identity in entries:
        rgb = decode_image(Path(entry["path"]).read_bytes())
        points = landmarks(pre, rgb)
        if points is None:
            continue
        kept.append(identity)
        vectors["dlib_own_chip"].append(teacher.embed_photo(Path(entry["path"]), entry.get("box")))
        for name in TEMPLATES:
            vectors[name].append(teacher.embed_chip(align_face(rgb, points, CHIP, name)))
    labels = np.array(kept)
    upper = np.triu_indices(len(labels), 1)
    same = (labels[upper[0]] == labels[upper[1]]).astype(int)
    eers = {}
    for name, rows in vectors.items():
        matrix = np.stack(rows)
        eers[name] = round(float(equal_error_rate(same, (matrix @ matrix.T)[upper])), 4)
    return {"photos": len(labels), "genuine_pairs": int(same.sum()), "eer": eers}


def main() -> None:
    args = parse_args()
    split = json.loads(args.split.read_text())
    teacher.load_teacher()
    pre = FacePreprocessor(PreprocessConfig())
    heldout = [r for r in split["heldout"] if r["source"] == args.source]
    wild = ("celeba_subset", "frll", "taiwan_frontal")
    training = [r for r in split["train"] if r["source"] in wild]
    random.Random(0).shuffle(training)
    result = {
        "heldout_set": args.source,
        "teacher_on_framings": framed_eers(pre, log_entries(args.cache, heldout)),
        "dlib_chip_points": chip_template(
            pre, log_entries(args.cache, training[: args.template_photos])
        ),
    }
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
