"""No face, no match: pictures without a detected face are refused on every route.

Through the real app (detection, alignment and the quality gate as served); the tiny model
embeds what passes, so these tests are about what reaches the model at all.
"""

import base64
import io

import image_factory as images
import numpy as np
import pytest
from PIL import Image

from bench.nonfaces import synthetic_nonfaces
from facecore.decode import decode_image

REFUSALS = {"no_face", "low_quality_face"}
ORL_CROP = images.ORL_FACES[0].read_bytes()
PHOTO = images.PHOTO_ONE_FACE.read_bytes()


def png(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "PNG")
    return buffer.getvalue()


def plain(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    return png(np.full((height, width, 3), colour, np.uint8))


GREY = plain(100, 100, (128, 128, 128))  # the issue's two squares
RED = plain(90, 110, (200, 30, 30))


def nonface_sample() -> list[tuple[str, bytes]]:
    """One synthetic non-face of each kind (the full set runs in the slow test)."""
    face = decode_image(ORL_CROP, max_bytes=10**7, max_pixels=10**7)
    seen, sample = set(), []
    for name, rgb in synthetic_nonfaces(face):
        kind = name.split("_")[0]
        if kind not in seen:
            seen.add(kind)
            sample.append((name, png(rgb)))
    return [("grey", GREY), ("red", RED), *sample]


def enrolled(client, person_id="ann"):
    client.post("/people", json={"id": person_id})
    response = client.post(f"/people/{person_id}/faces", files={"images": ("a.jpg", PHOTO)})
    assert response.json()["results"][0].get("face_id"), response.text
    return person_id


def post_one(client, route: str, data: bytes, **fields):
    """POST one picture to ``route`` as that route takes it; return (status, error code)."""
    text = {name: str(value).lower() for name, value in fields.items()}
    if route == "/embed" or route.endswith("/faces"):
        response = client.post(route, files={"images": ("x.png", data)}, data=text)
        body = response.json()
        if response.status_code == 200:
            result = body["results"][0]
            return 200, result.get("error", {}).get("code")
        return response.status_code, body["error"]["code"]
    if route == "/verify":
        files = {"image1": ("x.png", data), "image2": ("y.jpg", PHOTO)}
    else:
        files = {"image": ("x.png", data)}
    response = client.post(route, files=files, data=text)
    return response.status_code, response.json().get("error", {}).get("code")


ROUTES = ["/embed", "/verify", "/people/ann/faces", "/people/ann/verify", "/identify"]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("face_crop", [False, True])
def test_no_route_embeds_a_picture_without_a_face(make_client, route, face_crop):
    """Neither as a photo nor declared a face crop (enrolment of crops allowed here)."""
    client = make_client(allow_crop_enrolment=True)
    enrolled(client)
    for name, data in nonface_sample():
        status, code = post_one(client, route, data, face_crop=face_crop)
        assert code in REFUSALS, (route, name, status, code)
    person = client.get("/people/ann").json()
    assert len(person["faces"]) == 1  # only the real photo enrolled before


def test_the_issue_squares_neither_enrol_nor_verify(client):
    client.post("/people", json={"id": "x"})
    enrol = client.post("/people/x/faces", files={"images": ("g.png", GREY)}).json()
    assert enrol["results"][0]["error"]["code"] == "no_face"
    probe = client.post("/people/x/verify", files={"image": ("r.png", RED)}, data={"far": "1e-5"})
    assert probe.status_code == 422
    pair = client.post("/verify", files={"image1": ("g.png", GREY), "image2": ("r.png", RED)})
    assert pair.status_code == 422 and pair.json()["error"]["code"] == "no_face"


def test_face_crop_takes_the_image_whole_once_a_face_is_found_in_it(client):
    crop = client.post(
        "/embed", files={"images": ("orl.pgm", ORL_CROP)}, data={"face_crop": "true"}
    ).json()["results"][0]
    photo = client.post("/embed", files={"images": ("orl.pgm", ORL_CROP)}).json()["results"][0]
    assert crop["face"]["box"] == pytest.approx(photo["face"]["box"])  # the face found in it
    assert crop["embedding"] != pytest.approx(photo["embedding"])  # but not re-aligned
    pair = {
        "image1": base64.b64encode(GREY).decode(),
        "image2": base64.b64encode(ORL_CROP).decode(),
    }
    flat = client.post("/verify", json={**pair, "face_crop": True}).json()["error"]
    assert flat["code"] == "no_face" and "face crop" in flat["message"]
    speck = png(np.eye(20, dtype=np.uint8)[..., None].repeat(3, axis=2) * 255)
    tiny = client.post(
        "/embed", files={"images": ("t.png", speck)}, data={"face_crop": "true"}
    ).json()["results"][0]["error"]
    assert tiny["code"] == "low_quality_face" and "shortest side" in tiny["message"]


@pytest.mark.parametrize("route", ["/people/ann/verify", "/identify"])
def test_probes_take_face_crops_when_asked(client, route):
    enrolled(client)
    status, code = post_one(client, route, ORL_CROP, face_crop=True)
    assert (status, code) == (200, None)


def test_enrolling_crops_needs_the_operator(make_client):
    refused = make_client()
    refused.post("/people", json={"id": "ann"})
    answer = refused.post(
        "/people/ann/faces", files={"images": ("a.pgm", ORL_CROP)}, data={"face_crop": "true"}
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "crop_enrolment_disabled"
    assert refused.get("/people/ann").json()["faces"] == []


def test_enrolling_crops_where_the_operator_allows_it(make_client):
    client = make_client(allow_crop_enrolment=True)
    client.post("/people", json={"id": "ann"})
    body = client.post(
        "/people/ann/faces",
        json={"images": [base64.b64encode(ORL_CROP).decode()], "face_crop": True},
    ).json()
    assert body["results"][0]["face"]["box"] and body["results"][0]["face_id"]


def test_detection_off_still_refuses_flat_images(make_client):
    client = make_client(detection=False)
    flat = client.post("/embed", files={"images": ("g.png", GREY)}).json()["results"][0]
    assert flat["error"]["code"] == "low_quality_face"
    assert "nearly uniform" in flat["error"]["message"]


def test_detection_off_enrols_nothing_unless_allowed(make_client):
    client = make_client(detection=False)
    client.post("/people", json={"id": "ann"})
    answer = client.post("/people/ann/faces", files={"images": ("a.jpg", PHOTO)})
    assert answer.status_code == 422
    assert "FACEVERIFY_DETECTION" in answer.json()["error"]["message"]


def test_the_metadata_no_longer_decides(make_client):
    """The tiny model's metadata says padded_or_center; the service refuses anyway."""
    client = make_client()
    dark = images.YALEB_DARK.read_bytes()  # centre-cropped by training, refused here
    status, code = post_one(client, "/embed", dark)
    assert code == "no_face"


@pytest.mark.slow
@pytest.mark.parametrize("face_crop", [False, True])
def test_none_of_the_synthetic_nonfaces_is_embedded(client, face_crop):
    """All 273, drawings of a face and half faces on a card included, as photos and as crops."""
    face = decode_image(ORL_CROP, max_bytes=10**7, max_pixels=10**7)
    pictures = [(name, png(rgb)) for name, rgb in synthetic_nonfaces(face)]
    embedded = []
    for start in range(0, len(pictures), 16):
        chunk = pictures[start : start + 16]
        files = [("images", (f"{name}.png", data)) for name, data in chunk]
        fields = {"face_crop": str(face_crop).lower()}
        results = client.post("/embed", files=files, data=fields).json()["results"]
        embedded += [n for (n, _), r in zip(chunk, results, strict=True) if "embedding" in r]
    assert len(pictures) >= 200 and embedded == []
