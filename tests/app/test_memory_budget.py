"""The process's one memory budget (FACEVERIFY_MEMORY_BUDGET_BYTES) through the app: decodes
reserve what their header says before decoding, a decode that could never fit is refused
(413), one that finds no room in time gets 503 server_busy, large images are decoded reduced,
and a JSON string longer than any image is refused before it is read whole."""

import asyncio
import base64
import io
import time

import httpx2
import image_factory as images
import numpy as np
import pytest
from hostile_requests import FACE, FACE_B64, JSON, verify_files
from PIL import Image

from app.settings import MIB


def settled(budget, seconds: float = 5.0) -> int:
    """Bytes still reserved once work still running for answered requests has ended."""
    deadline = time.monotonic() + seconds
    while budget.in_use and time.monotonic() < deadline:  # the other image of a failed /verify
        time.sleep(0.02)
    return budget.in_use


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


MODES = pytest.mark.parametrize("mode", ["thread", "process"])  # process: asked of the server


@MODES
def test_a_decode_over_the_budget_is_refused_before_decoding(make_client, mode):
    client = make_client(
        max_image_bytes=64 * 1024,
        max_images_per_request=16,
        memory_budget_bytes=70 * MIB,
        preprocess_mode=mode,
    )
    assert client.app.state.settings.memory_lane_bytes == 5 * MIB  # 70 - 1 - 64
    assert client.app.state.settings.decode_budget_bytes == 65 * MIB
    # 16 bytes a pixel in libwebp and Pillow: about 77 MiB for 3 MP, from a 2 KB file
    webp = encoded(Image.new("RGBA", (2000, 1500), (10, 20, 30, 128)), "WEBP", lossless=True)
    response = client.post("/verify", files=verify_files(webp))
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "image_too_large"
    assert (
        "MiB; the limit is 65 MiB (FACEVERIFY_MEMORY_BUDGET_BYTES less the small requests' "
        "lane of 5 MiB and the 0 MiB" in (error["message"])
    )
    assert settled(client.app.state.memory_budget) == 0


@MODES
def test_a_decode_that_finds_no_room_in_time_gets_503(make_client, mode):
    client = make_client(memory_wait_s=0.2, preprocess_mode=mode)
    budget = client.app.state.memory_budget
    assert budget.try_reserve(budget.capacity - 2 * MIB)  # others hold nearly everything
    try:
        busy = client.post("/verify", files=verify_files())
        embed = client.post("/embed", json={"images": [FACE_B64, FACE_B64]})
    finally:
        budget.release(budget.capacity - 2 * MIB)
    for response in (busy, embed):  # /embed too: retry the request, not one image
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "server_busy"
        assert response.headers["retry-after"] == "1"
    assert client.post("/verify", files=verify_files()).status_code == 200
    assert settled(budget) == 0


def test_a_large_png_is_decoded_reduced_and_mapped_back(make_client):
    client = make_client(max_image_bytes=32 * MIB, max_images_per_request=2)
    small = Image.open(images.PHOTO_ONE_FACE).convert("RGBA")
    big = small.resize((small.width * 16, small.height * 16), Image.Resampling.NEAREST)
    png = encoded(big, "PNG", compress_level=1)  # 3984 x 5120: reduced by 2 to decode
    results = client.post(
        "/embed", files=[("images", ("s.jpg", FACE)), ("images", ("b.png", png))]
    ).json()["results"]
    first, second = results
    assert np.allclose(np.array(second["face"]["box"]) / 16, first["face"]["box"], atol=4)
    assert float(np.dot(first["embedding"], second["embedding"])) > 0.9
    assert settled(client.app.state.memory_budget) == 0


def test_a_json_string_longer_than_any_image_is_refused_before_it_is_read(make_client):
    client = make_client(max_image_bytes=MIB)
    limit = client.app.state.settings.max_token_chars  # 2.4 M; the body may have 21 MiB
    sent = 0

    async def body():
        nonlocal sent
        yield b'{"images": ["'
        for _ in range(64):  # 64 MiB of base64, far past the 1.4 MiB any image may take
            sent += MIB
            yield b"A" * MIB
        yield b'"]}'

    async def post():  # streamed, a MiB at a time (TestClient would send the body whole)
        transport = httpx2.ASGITransport(app=client.app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://test") as streaming:
            return await streaming.post("/embed", content=body(), headers=JSON)

    response = asyncio.run(post())
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "image_too_large"
    assert f"runs past {limit} characters" in error["message"]
    assert sent < 6 * MIB  # the rest was never read
    assert settled(client.app.state.memory_budget) == 0


def test_a_long_number_is_refused_as_early(make_client):
    client = make_client(max_image_bytes=MIB)
    digits = b'{"images": ["' + FACE_B64.encode() + b'"], "threshold": ' + b"9" * (4 * MIB) + b"}"
    response = client.post("/embed", content=digits, headers=JSON)
    assert (response.status_code, response.json()["error"]["code"]) == (413, "image_too_large")
    assert "runs past" in response.json()["error"]["message"]


def test_an_image_just_over_the_limit_still_fails_alone(make_client):
    client = make_client(max_image_bytes=32 * 1024)
    big = base64.b64encode(FACE + b"\0" * 40 * 1024).decode()
    response = client.post("/embed", json={"images": [FACE_B64, big]})
    assert response.status_code == 200
    assert response.json()["results"][1]["error"]["code"] == "image_too_large"
