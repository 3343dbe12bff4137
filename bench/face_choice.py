"""Which face to embed when the detector finds several: rules compared on labelled photos.

Every photo of a labelled set (``ROOT/PERSON/IMAGE``) is detected as the service detects it;
each face found is aligned and embedded with the exported model. A person's reference is the
mean embedding of their photos with exactly one detection. In a photo with several, the
"right" face is the one closest to that reference, and each rule is scored on how often it
picks it. With ``--split``, the people a model held out are reported apart from the rest
(rules are best chosen on the others). Run from the project root::

    python -m bench.face_choice --data ../shared/data/faces/celeba_subset \\
        --split runs/default_v4/split.json
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.peer.selection import heldout_people
from bench.results_file import write_result
from facecore.decode import decode_image
from facecore.detect import Face
from facecore.model_bundle import ModelBundle
from facecore.onnx_model import OnnxModel
from facecore.preprocess import FacePreprocessor, largest_confident_face
from training.data.folders import scan_identity_folders

Rule = Callable[[list[Face]], Face]

RULES: dict[str, Rule] = {
    "largest box": lambda faces: largest_confident_face(faces, fraction=0.0),
    "most confident": lambda faces: max(faces, key=lambda face: face.confidence),
    **{
        f"largest, confidence >= {r} x best": lambda faces, r=r: largest_confident_face(faces, r)
        for r in (0.7, 0.8, 0.9)
    },
}


def detect_and_embed(model_dir: Path, root: Path) -> list[dict]:
    """One row per photo: its person, its faces and every face's unit embedding."""
    bundle = ModelBundle.load(model_dir)
    model = OnnxModel(bundle)
    preprocessor = FacePreprocessor(bundle.preprocess)
    photos = []
    for record in scan_identity_folders([str(root)]):
        path = record.path
        rgb = decode_image(path.read_bytes())
        faces, _ = preprocessor.find_faces(rgb)
        if not faces:
            continue
        crops = [preprocessor.model_input_of(rgb, face) for face in faces]
        photos.append(
            {
                "path": path,
                "person": path.parent.name,
                "faces": faces,
                "embeddings": model.embed(np.stack(crops)),
            }
        )
    return photos


def references(photos: list[dict]) -> dict[str, np.ndarray]:
    """Each person's mean unit embedding over their photos with exactly one face."""
    sums: dict[str, np.ndarray] = {}
    for photo in (p for p in photos if len(p["faces"]) == 1):
        sums[photo["person"]] = sums.get(photo["person"], 0) + photo["embeddings"][0]
    return {person: total / np.linalg.norm(total) for person, total in sums.items()}


def score_rules(photos: list[dict], refs: dict[str, np.ndarray]) -> dict:
    """For photos with several faces and a reference: how often each rule picks the right one."""
    scored = [p for p in photos if len(p["faces"]) > 1 and p["person"] in refs]
    right = [int(np.argmax(p["embeddings"] @ refs[p["person"]])) for p in scored]
    result = {"photos_with_several_faces": len(scored), "rules": {}}
    for name, rule in RULES.items():
        picks = [p["faces"].index(rule(p["faces"])) for p in scored]  # Face compares by identity
        similarity = [
            float(p["embeddings"][i] @ refs[p["person"]])
            for p, i in zip(scored, picks, strict=True)
        ]
        result["rules"][name] = {
            "right_face": sum(pick == good for pick, good in zip(picks, right, strict=True)),
            "mean_similarity_to_person": float(np.mean(similarity)) if similarity else None,
        }
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the comparison, print it, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/resnet18-2.7.0"))
    parser.add_argument(
        "--data", type=Path, required=True, help="a labelled set: ROOT/PERSON/IMAGE"
    )
    parser.add_argument(
        "--split", type=Path, help="a run's split.json: report held-out people apart"
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results/face_choice.json"))
    args = parser.parse_args(argv)
    photos = detect_and_embed(args.model, args.data)
    refs = references(photos)
    held = set()
    if args.split:  # held-out (set, person folder) places of the split, in this set
        places = set().union(*heldout_people(args.split).values())
        held = {folder for source, folder in places if source == args.data.name}
    groups = {"all people": photos}
    if args.split:
        groups["people the model trained on"] = [p for p in photos if p["person"] not in held]
        groups["held-out people"] = [p for p in photos if p["person"] in held]
    report = {
        "model": str(args.model),
        "data": str(args.data),
        "photos_with_a_face": len(photos),
        "groups": {name: score_rules(group, refs) for name, group in groups.items()},
    }
    for name, result in report["groups"].items():
        print(f"{name}: {result['photos_with_several_faces']} photos with several faces")
        for rule, figures in result["rules"].items():
            print(f"  {rule:34s} right face {figures['right_face']}")
    write_result(args.out, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
