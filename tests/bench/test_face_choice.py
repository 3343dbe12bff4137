"""bench.face_choice: the face-choice rules and how they are scored against each person."""

import json

import numpy as np
from image_factory import FACES_DIR

from bench.face_choice import RULES, main, references, score_rules
from facecore.detect import Face
from facecore.preprocess import largest_confident_face

POINTS = np.zeros((6, 2), np.float32)


def face(side: float, confidence: float) -> Face:
    return Face((0.0, 0.0, side, side), confidence, POINTS)


def photo(person: str, faces: list[Face], embeddings: list[list[float]]) -> dict:
    return {"person": person, "faces": faces, "embeddings": np.asarray(embeddings, np.float32)}


def test_largest_confident_face_ignores_a_big_unsure_box():
    torso, head, big = face(90, 0.6), face(40, 0.95), face(90, 0.9)
    assert largest_confident_face([torso, head], 0.9) is head
    assert largest_confident_face([torso, head], 0.6) is torso
    assert largest_confident_face([big, head], 0.9) is big  # about as sure: the bigger


def test_rules_are_scored_against_the_persons_single_face_photos():
    alice = [1.0, 0.0]
    photos = [
        photo("alice", [face(40, 0.9)], [alice]),
        photo("alice", [face(90, 0.6), face(40, 0.95)], [[0.0, 1.0], alice]),  # torso, face
        photo("bob", [face(50, 0.9), face(30, 0.9)], [[0.0, 1.0], [1.0, 0.0]]),  # no reference
    ]
    refs = references(photos)
    assert set(refs) == {"alice"}
    result = score_rules(photos, refs)
    assert result["photos_with_several_faces"] == 1
    assert result["rules"]["largest box"]["right_face"] == 0
    assert result["rules"]["largest, confidence >= 0.9 x best"]["right_face"] == 1
    assert result["rules"]["most confident"]["mean_similarity_to_person"] == 1.0


def test_command_runs_on_fixture_photos(tmp_path):
    out = tmp_path / "choice.json"
    model = FACES_DIR.parent / "tiny_model"
    assert (
        main(["--model", str(model), "--data", str(FACES_DIR / "celeba"), "--out", str(out)]) == 0
    )
    report = json.loads(out.read_text())
    assert report["photos_with_a_face"] > 0
    assert set(report["groups"]["all people"]["rules"]) == set(RULES)
