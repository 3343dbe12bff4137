"""``return_faces`` on /verify and /embed: every face the detector found, the compared one marked.

The page draws the other faces with it; without the option the answers are unchanged.
"""

import base64
import pickle

import image_factory as images
import numpy as np
import pytest
from hostile_requests import verify_json

from app.inference.image_preparation import MAX_LISTED_FACES, PreparedImage, listed_faces
from facecore.detect import Face

FACE_A = images.PHOTO_ONE_FACE.read_bytes()
TWO_FACES = images.PHOTO_TWO_FACES.read_bytes()
TORSO = images.PHOTO_FACE_AND_TORSO.read_bytes()


def check_listed(result: dict) -> dict:
    """The listed faces have the chosen face's shape; exactly one, equal to ``face``, is chosen."""
    faces = result["faces"]
    assert len(faces) == min(result["faces_detected"], MAX_LISTED_FACES)
    for face in faces:
        assert set(face) == {"box", "confidence", "landmarks", "chosen"}
        assert len(face["box"]) == 4 and len(face["landmarks"]) == len(result["face"]["landmarks"])
    (chosen,) = [face for face in faces if face["chosen"]]
    assert {key: chosen[key] for key in result["face"]} == result["face"]
    return chosen


@pytest.mark.parametrize("photo", [TWO_FACES, TORSO], ids=["two_faces", "face_and_torso"])
def test_verify_lists_every_detected_face_when_asked(client, photo):
    files = {"image1": ("a.jpg", FACE_A), "image2": ("b.jpg", photo)}
    plain = client.post("/verify", files=files)
    asked = client.post("/verify", files=files, data={"return_faces": "true"}).json()
    assert "faces" not in plain.json()["image1"] and "faces" not in plain.json()["image2"]
    assert asked["similarity"] == pytest.approx(plain.json()["similarity"])
    assert asked["image2"]["faces_detected"] >= 2
    check_listed(asked["image1"])
    check_listed(asked["image2"])
    assert len(asked["image2"]["faces"]) == asked["image2"]["faces_detected"]
    # The answer without the option is the one it always was: only `faces` differs.
    for name in ("image1", "image2"):
        without = {key: value for key, value in asked[name].items() if key != "faces"}
        assert without == plain.json()[name]
    body = verify_json(client, FACE_A, photo, return_faces=True)
    assert body["image2"]["faces"] == asked["image2"]["faces"]


def test_embed_lists_every_detected_face_per_embedded_image(client):
    photos = [
        ("images", ("t.jpg", TWO_FACES)),
        ("images", ("n.jpg", images.PHOTO_NO_FACE.read_bytes())),
    ]
    plain = client.post("/embed", files=photos).json()
    asked = client.post("/embed", files=photos, data={"return_faces": "true"}).json()
    faces, failure = asked["results"]
    assert failure == {"error": {"code": "no_face", "message": "no face found in the image"}}
    assert len(faces["faces"]) == faces["faces_detected"] >= 2
    check_listed(faces)
    assert "faces" not in plain["results"][0]
    assert {key: value for key, value in faces.items() if key != "faces"} == plain["results"][0]
    body = client.post(
        "/embed", json={"images": [base64.b64encode(TORSO).decode()], "return_faces": True}
    ).json()
    check_listed(body["results"][0])


def test_a_face_crop_lists_its_one_face(client):
    crop = FACE_A
    result = client.post(
        "/embed",
        files=[("images", ("a.jpg", crop))],
        data={"return_faces": "true", "face_crop": "true"},
    ).json()["results"][0]
    assert len(result["faces"]) == 1 and result["faces"][0]["chosen"]
    assert check_listed(result)["box"] == result["face"]["box"]


def test_openapi_documents_return_faces(client):
    schema = client.get("/openapi.json").json()
    for path in ("/verify", "/embed"):
        body = schema["paths"][path]["post"]["requestBody"]["content"]
        for media in ("multipart/form-data", "application/json"):
            option = body[media]["schema"]["properties"]["return_faces"]
            assert "at most 20" in option["description"]
    components = schema["components"]["schemas"]
    assert "faces" in components["ImageFaces"]["properties"]
    assert "chosen" in components["DetectedFace"]["required"]


def face(confidence: float) -> Face:
    return Face((10.0, 20.0, 30.0, 30.0), confidence, np.ones((6, 2), np.float32))


def test_the_list_is_bounded_and_keeps_the_chosen_face():
    faces = tuple(face(0.5 + i / 100) for i in range(30))
    listed, chosen = listed_faces(faces, faces[0], 2.0)  # the least confident is chosen
    assert len(listed) == MAX_LISTED_FACES and chosen == 0
    assert listed[0].box == (5.0, 10.0, 15.0, 15.0)  # mapped back by 1 / scale
    assert [f.confidence for f in listed[1:]] == [f.confidence for f in faces[11:]]
    few, index = listed_faces(faces[:3], faces[1], 1.0)
    assert few == faces[:3] and index == 1


def test_a_prepared_image_with_its_faces_survives_the_preparation_process_pipe():
    """The preparation processes send PreparedImage back pickled."""
    listed = (face(0.9), face(0.8))
    prepared = PreparedImage(np.zeros((4, 4, 3), np.float32), listed[0], 2, False, listed, 0)
    copy = pickle.loads(pickle.dumps(prepared))
    assert copy.chosen == 0 and [f.box for f in copy.faces] == [f.box for f in listed]
    assert np.array_equal(copy.faces[1].landmarks, listed[1].landmarks)


def test_the_faces_come_back_from_a_preparation_process(client, make_client):
    """preprocess_mode=process pickles each PreparedImage back: the same faces as in a thread."""
    photos = [("images", ("t.jpg", TWO_FACES))]
    in_thread = client.post("/embed", files=photos, data={"return_faces": "true"}).json()
    processes = make_client(preprocess_mode="process")
    answer = processes.post("/embed", files=photos, data={"return_faces": "true"}).json()
    result = answer["results"][0]
    check_listed(result)
    assert len(result["faces"]) >= 2 and result["faces"] == in_thread["results"][0]["faces"]
