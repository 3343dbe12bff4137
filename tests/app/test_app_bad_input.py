"""Hostile and unusual uploads: each gets its documented status and code, never a 500."""

import base64
import io

import image_factory as images
import numpy as np
import pytest
from PIL import Image

FACE = images.PHOTO_ONE_FACE.read_bytes()
FACE_2 = images.PHOTO_ONE_FACE_2.read_bytes()


def verify_files(first: bytes, second: bytes = FACE_2) -> dict:
    return {"image1": ("a", first), "image2": ("b", second)}


def error_code(response) -> str:
    return response.json()["error"]["code"]


def corrupt_png() -> bytes:
    buffer = io.BytesIO()
    Image.open(images.PHOTO_ONE_FACE).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)
    return bytes(data)


def face_in_mode(mode: str, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image = Image.open(images.PHOTO_ONE_FACE)
    if mode == "I;16":
        image = Image.fromarray(np.asarray(image.convert("L"), np.uint16) * 257)
    else:
        image = image.convert(mode)
    image.save(buffer, fmt)
    return buffer.getvalue()


def exif_rotated_face() -> bytes:
    """The face photo stored rotated 90 degrees, with EXIF orientation 6 to undo it."""
    image = Image.open(images.PHOTO_ONE_FACE).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95, exif=exif)
    return buffer.getvalue()


@pytest.fixture
def assert_still_serving(client):
    yield
    assert client.get("/health").status_code == 200
    assert client.post("/verify", files=verify_files(FACE)).status_code == 200


@pytest.mark.parametrize(
    ("name", "data", "status", "code"),
    [
        ("zero-byte file", b"", 400, "invalid_image"),
        ("text file", images.not_an_image(), 400, "invalid_image"),
        ("truncated jpeg", images.truncated_jpeg(), 400, "invalid_image"),
        ("corrupt png", corrupt_png(), 400, "invalid_image"),
        ("decompression bomb", images.bomb_png(30_000, 30_000), 413, "image_too_large"),
        ("photo without a face", images.PHOTO_NO_FACE.read_bytes(), 422, "no_face"),
    ],
)
def test_bad_image_in_verify(client, assert_still_serving, name, data, status, code):
    response = client.post("/verify", files=verify_files(data))
    assert (response.status_code, error_code(response)) == (status, code), name
    assert set(response.json()) == {"error"} and response.json()["error"]["message"]


def test_bad_images_in_embed_fail_alone(client, assert_still_serving):
    uploads = [b"", FACE, images.truncated_jpeg(), images.bomb_png(30_000, 30_000)]
    response = client.post("/embed", files=[("images", (f"{i}", d)) for i, d in enumerate(uploads)])
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r.get("error", {}).get("code") for r in results] == [
        "invalid_image",
        None,
        "invalid_image",
        "image_too_large",
    ]
    assert len(results[1]["embedding"]) == 16


@pytest.mark.parametrize(
    ("name", "request_kwargs", "status", "code"),
    [
        ("empty body", {"content": b""}, 415, "unsupported_media_type"),
        (
            "empty json body",
            {"content": b"", "headers": {"content-type": "application/json"}},
            400,
            "invalid_request",
        ),
        (
            "broken json",
            {"content": b"{", "headers": {"content-type": "application/json"}},
            400,
            "invalid_request",
        ),
        (
            "wrong content type",
            {"content": FACE, "headers": {"content-type": "image/jpeg"}},
            415,
            "unsupported_media_type",
        ),
        (
            "broken multipart",
            {
                "content": b"--x\r\ngarbage",
                "headers": {"content-type": "multipart/form-data; boundary=x"},
            },
            400,
            "invalid_request",
        ),
        ("missing field", {"files": {"image1": ("a", FACE)}}, 422, "validation_error"),
        (
            "wrong field names",
            {"files": {"face1": ("a", FACE), "face2": ("b", FACE)}},
            422,
            "validation_error",
        ),
        (
            "image sent as a text field",
            {"data": {"image1": "abc"}, "files": {"image2": ("b", FACE)}},
            422,
            "validation_error",
        ),
        (
            "invalid base64",
            {"json": {"image1": "%%%notbase64%%%", "image2": "AAAA"}},
            400,
            "invalid_image",
        ),
        (
            "threshold above 1",
            {"json": {"image1": "", "image2": "", "threshold": 1.5}},
            422,
            "validation_error",
        ),
        (
            "threshold below -1",
            {"files": verify_files(FACE), "data": {"threshold": "-2"}},
            422,
            "validation_error",
        ),
        (
            "threshold not a number",
            {"files": verify_files(FACE), "data": {"threshold": "high"}},
            422,
            "validation_error",
        ),
        (
            "unknown json field",
            {"json": {"image1": "", "image2": "", "colour": "red"}},
            422,
            "validation_error",
        ),
    ],
)
def test_bad_request_to_verify(client, assert_still_serving, name, request_kwargs, status, code):
    response = client.post("/verify", **request_kwargs)
    assert (response.status_code, error_code(response)) == (status, code), name


def test_hundred_images_are_too_many(client, assert_still_serving):
    tiny = images.grey_png()
    multipart = client.post("/embed", files=[("images", (f"{i}", tiny)) for i in range(100)])
    assert (multipart.status_code, error_code(multipart)) == (422, "too_many_images")
    encoded = base64.b64encode(tiny).decode()
    as_json = client.post("/embed", json={"images": [encoded] * 100})
    assert (as_json.status_code, error_code(as_json)) == (422, "too_many_images")
    empty = client.post("/embed", json={"images": []})
    assert (empty.status_code, error_code(empty)) == (422, "validation_error")


def test_oversize_uploads_are_refused(make_client):
    client = make_client(max_image_bytes=21 * 1024, max_images_per_request=2)
    one_big = client.post("/verify", files=verify_files(FACE))  # 21.7 KiB > 21 KiB per image
    assert (one_big.status_code, error_code(one_big)) == (413, "image_too_large")
    limit = client.app.state.settings.max_body_bytes
    declared = client.post(
        "/verify", content=b"x" * (limit + 1), headers={"content-type": "application/json"}
    )
    assert (declared.status_code, error_code(declared)) == (413, "image_too_large")

    def chunks():  # no Content-Length: the running count must stop it
        for _ in range(limit // 4096 + 2):
            yield b"a" * 4096

    streamed = client.post(
        "/verify", content=chunks(), headers={"content-type": "multipart/form-data; boundary=x"}
    )
    assert (streamed.status_code, error_code(streamed)) == (413, "image_too_large")
    assert client.post("/verify", files=verify_files(FACE_2, FACE_2)).status_code == 200


def test_several_faces_use_the_largest_or_are_rejected_by_policy(client, make_client):
    crowd = images.PHOTO_TWO_FACES.read_bytes()
    result = client.post("/embed", files={"images": ("c", crowd)}).json()["results"][0]
    assert result["faces_detected"] >= 2 and len(result["embedding"]) == 16
    strict = make_client(face_policy="reject")
    response = strict.post("/verify", files=verify_files(crowd))
    assert (response.status_code, error_code(response)) == (422, "multiple_faces")


def test_exif_rotation_is_applied_before_detection(client, assert_still_serving):
    upright, rotated = client.post(
        "/embed", files=[("images", ("u", FACE)), ("images", ("r", exif_rotated_face()))]
    ).json()["results"]
    assert np.allclose(upright["face"]["box"], rotated["face"]["box"], atol=6)
    assert float(np.dot(upright["embedding"], rotated["embedding"])) > 0.95


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [
        ("RGBA", "PNG"),
        ("P", "PNG"),
        ("I;16", "PNG"),
        ("CMYK", "JPEG"),
        ("L", "PNG"),
        ("LA", "PNG"),
        ("1", "PNG"),
    ],
)
def test_unusual_pixel_formats_are_embedded(client, mode, fmt):
    data = face_in_mode(mode, fmt)
    response = client.post("/embed", files={"images": (f"face.{fmt.lower()}", data)})
    assert response.status_code == 200
    result = response.json()["results"][0]
    assert "error" not in result, result
    assert len(result["embedding"]) == 16
    if mode != "1":  # a 1-bit photo may lose the face; it must still decode
        assert result["faces_detected"] >= 1


def test_unknown_route_and_method_use_the_error_shape(client):
    missing = client.get("/nope")
    assert (missing.status_code, error_code(missing)) == (404, "not_found")
    wrong_method = client.get("/verify")
    assert (wrong_method.status_code, error_code(wrong_method)) == (405, "method_not_allowed")
