"""Hostile requests within the limits (issue 10): each gets its status, code and the error shape,
and the service still serves afterwards. Errors escaping the routes, response headers and CORS
are in test_app_error_boundary.py; real-server cases (timeouts, headers, shutdown) in
test_e2e_hostile.py and test_e2e_drain.py."""

import base64
import io
import json
import tempfile

import image_factory as images
import numpy as np
import pytest
from hostile_requests import (
    FACE,
    FACE_2,
    FACE_B64,
    JSON,
    eps_file,
    grey_png,
    multipart,
    raw_json,
    verify_files,
    wrapped_base64,
)
from PIL import Image

VERIFY_CASES = [
    # H1: shapes refused from the header, before any pixel is decoded
    (
        "40000x1000 png",
        {"files": verify_files(images.bomb_png(40_000, 1_000))},
        422,
        "unsupported_image_shape",
    ),
    (
        "40,000,000x1 png",
        {"files": verify_files(images.bomb_png(40_000_000, 1))},
        422,
        "unsupported_image_shape",
    ),
    ("8x8 png", {"files": verify_files(grey_png(8, 8))}, 422, "unsupported_image_shape"),
    ("8000x1000 without a face", {"files": verify_files(grey_png(8_000, 1_000))}, 422, "no_face"),
    # H2 / M6: JSON refused while streaming
    (
        "json: 20000 tiny strings",
        raw_json(json.dumps({"images": ["QQ=="] * 20_000})),
        422,
        "too_many_images",
    ),
    ("json: nested 100000 deep", raw_json("[" * 100_000), 400, "invalid_request"),
    ("json: object nested 100000 deep", raw_json('{"a":' * 100_000), 400, "invalid_request"),
    (
        "json: 5000-digit integer",
        raw_json('{"image1": "", "image2": "", "threshold": ' + "9" * 5000 + "}"),
        400,
        "invalid_request",
    ),
    ("json: array body", raw_json("[]"), 400, "invalid_request"),
    ("json: invalid utf-8", raw_json(b'{"image1": "\xff"}'), 400, "invalid_request"),
    ("json: trailing garbage", raw_json('{"image1": "", "image2": ""} x'), 400, "invalid_request"),
    # L7: no coercion, no silent duplicates
    (
        "json: threshold true",
        {"json": {"image1": FACE_B64, "image2": FACE_B64, "threshold": True}},
        422,
        "validation_error",
    ),
    (
        "json: threshold as a string",
        {"json": {"image1": FACE_B64, "image2": FACE_B64, "threshold": "0.5"}},
        422,
        "validation_error",
    ),
    (
        "json: duplicate key",
        raw_json(
            f'{{"image1": "{FACE_B64}", "image2": "{FACE_B64}", '
            '"threshold": 0.1, "threshold": 0.9}'
        ),
        422,
        "validation_error",
    ),
    (
        "multipart: duplicate threshold",
        multipart(
            [
                ("image1", "a.jpg", FACE),
                ("image2", "b.jpg", FACE_2),
                ("threshold", None, b"0.1"),
                ("threshold", None, b"0.9"),
            ]
        ),
        422,
        "validation_error",
    ),
    # M1: per-part limits while streaming; L12: unterminated multipart
    (
        "multipart: field over 1 KiB",
        multipart(
            [
                ("image1", "a.jpg", FACE),
                ("image2", "b.jpg", FACE_2),
                ("threshold", None, b"1" * 2000),
            ]
        ),
        400,
        "invalid_request",
    ),
    (
        "multipart: three files",
        multipart(
            [("image1", "a.jpg", FACE), ("image2", "b.jpg", FACE_2), ("image2", "c.jpg", FACE)]
        ),
        422,
        "too_many_images",
    ),
    (
        "multipart: no closing boundary",
        multipart([("image1", "a.jpg", FACE), ("image2", "b.jpg", FACE_2)], close=False),
        400,
        "invalid_request",
    ),
    (
        "multipart: no boundary",
        {"content": b"x", "headers": {"content-type": "multipart/form-data"}},
        400,
        "invalid_request",
    ),
    # L9: only the documented formats are decoded
    ("eps file", {"files": verify_files(eps_file())}, 400, "invalid_image"),
]


@pytest.fixture
def still_serving(client):
    yield
    assert client.get("/health").status_code == 200
    response = client.post("/verify", files=verify_files())
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("name", "request_kwargs", "status", "code"),
    VERIFY_CASES,
    ids=[case[0] for case in VERIFY_CASES],
)
def test_hostile_verify(client, still_serving, name, request_kwargs, status, code):
    response = client.post("/verify", **request_kwargs)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code), (
        name,
        response.text[:300],
    )
    assert set(response.json()) == {"error"}
    message = response.json()["error"]["message"]
    assert message and "object at 0x" not in message and len(message) < 400


def test_verify_body_limit_is_sized_for_two_images(make_client):
    client = make_client(max_image_bytes=64 * 1024, max_images_per_request=16)
    settings = client.app.state.settings
    over_verify = settings.body_limit(2) + 1
    assert over_verify < settings.max_body_bytes  # /embed would still take it
    response = client.post("/verify", content=b"{" + b" " * over_verify, headers=JSON)
    assert (response.status_code, response.json()["error"]["code"]) == (413, "image_too_large")
    assert response.headers["connection"] == "close"
    assert client.post("/verify", files=verify_files()).status_code == 200


def test_pixel_refusals_state_the_configured_limit(make_client):
    """A bomb used to quote Pillow's 178,956,970-pixel limit, not FACEVERIFY_MAX_PIXELS."""
    client = make_client(max_pixels=10_000)
    for data, size in [
        (grey_png(200, 100), "200x100 = 20000"),
        (images.bomb_png(30_000, 30_000), "900000000"),
    ]:
        response = client.post("/verify", files=verify_files(data))
        assert response.status_code == 413
        assert response.json()["error"] == {
            "code": "image_too_large",
            "message": f"image is {size} pixels; the limit is 10000",
        }


@pytest.mark.parametrize("form", ["multipart", "json"])
def test_oversized_image_fails_alone_without_being_buffered(make_client, form):
    client = make_client(max_image_bytes=32 * 1024)
    big = FACE + b"\0" * 40 * 1024  # a JPEG with trailing bytes: over the limit
    if form == "multipart":
        response = client.post(
            "/embed", files=[("images", ("a.jpg", FACE)), ("images", ("big.jpg", big))]
        )
    else:
        response = client.post(
            "/embed", json={"images": [FACE_B64, base64.b64encode(big).decode()]}
        )
    assert response.status_code == 200, response.text
    first, second = response.json()["results"]
    assert len(first["embedding"]) == 16
    assert second["error"]["code"] == "image_too_large"


def test_uploads_never_touch_the_disk(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("an upload was written to a temporary file")

    for name in ("SpooledTemporaryFile", "TemporaryFile", "NamedTemporaryFile", "mkstemp"):
        monkeypatch.setattr(tempfile, name, refuse)
    noise = np.random.default_rng(0).integers(0, 255, (1100, 1100, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, "PNG")
    assert len(buffer.getvalue()) > 2 * 1024 * 1024  # Starlette spooled parts over 1 MB
    response = client.post(
        "/embed",
        files=[("images", ("noise.png", buffer.getvalue())), ("images", ("face.jpg", FACE))],
    )
    assert response.status_code == 200
    assert [r.get("error", {}).get("code") for r in response.json()["results"]] == ["no_face", None]


def test_line_wrapped_base64_is_accepted(client):
    response = client.post(
        "/verify", json={"image1": wrapped_base64(FACE), "image2": wrapped_base64(FACE_2)}
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("factor", [8, 16])  # 16: a 20 MP JPEG, decoded at half size
def test_detection_on_a_large_image_maps_back_to_its_pixels(client, factor):
    small = Image.open(images.PHOTO_ONE_FACE)
    big = small.resize((small.width * factor, small.height * factor), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    big.save(buffer, "JPEG", quality=90)
    results = client.post(
        "/embed", files=[("images", ("s.jpg", FACE)), ("images", ("b.jpg", buffer.getvalue()))]
    ).json()
    first, second = results["results"]
    assert np.allclose(np.array(second["face"]["box"]) / factor, first["face"]["box"], atol=4)
    assert np.allclose(
        np.array(second["face"]["landmarks"]) / factor, first["face"]["landmarks"], atol=4
    )
    assert float(np.dot(first["embedding"], second["embedding"])) > 0.9
