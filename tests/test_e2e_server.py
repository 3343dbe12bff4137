"""End to end: a real uvicorn process on 127.0.0.1, spoken to over HTTP with httpx.

With ``models/default`` present, the trained model must tell the same person from different
people on real photos (and the test fails if it does not). Without it, the tiny random-weight
fixture runs, and only the server mechanics are checked: that is what the test id says.
"""

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import image_factory as images
import pytest
from conftest import TINY_MODEL

ROOT = Path(__file__).resolve().parents[1]
REAL_MODEL = ROOT / "models" / "default"
HAS_REAL_MODEL = (REAL_MODEL / "model.onnx").is_file() and (REAL_MODEL / "metadata.json").is_file()
MODEL = REAL_MODEL if HAS_REAL_MODEL else TINY_MODEL
MODE = "real-model" if HAS_REAL_MODEL else "tiny-model-mechanics-only"

SAME_PERSON = [
    (images.PHOTO_ONE_FACE, images.PHOTO_ONE_FACE_2),
    (images.ORL_FACES[0], images.ORL_FACES[1]),
    (images.ORL_FACES[2], images.ORL_FACES[3]),
]
DIFFERENT_PEOPLE = [
    (images.ORL_FACES[0], images.ORL_FACES[2]),
    (images.PHOTO_ONE_FACE, images.ORL_FACES[0]),
    (images.PHOTO_ONE_FACE_2, images.YALEB_SIDE_LIT),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    env = {**os.environ, "FACEVERIFY_MODEL_PATH": str(MODEL), "FACEVERIFY_PORT": str(port),
           "FACEVERIFY_HOST": "127.0.0.1", "FACEVERIFY_DEVICE": "cpu",
           "FACEVERIFY_BATCH_MAX_WAIT_MS": "20", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "app"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base_url, process)
        yield base_url, process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def _wait_ready(base_url: str, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early:\n{process.stdout.read()}")
        try:
            if httpx.get(f"{base_url}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("server did not become ready in time")


def verify(base_url: str, first: Path, second: Path) -> dict:
    response = httpx.post(f"{base_url}/verify", timeout=60, files={
        "image1": (first.name, first.read_bytes()), "image2": (second.name, second.read_bytes())})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.slow
@pytest.mark.e2e
def test_server_answers_verify_and_embed(server):
    base_url, _ = server
    same_image = verify(base_url, images.PHOTO_ONE_FACE, images.PHOTO_ONE_FACE)
    assert same_image["verified"] and same_image["similarity"] > 0.999, MODE
    embed = httpx.post(f"{base_url}/embed", timeout=60, files=[
        ("images", ("a.jpg", images.PHOTO_ONE_FACE.read_bytes())),
        ("images", ("b.txt", b"not an image"))])
    first, second = embed.json()["results"]
    assert len(first["embedding"]) == embed.json()["model"]["dimension"]
    assert second["error"]["code"] == "invalid_image"
    assert "faceverify_http_requests_total" in httpx.get(f"{base_url}/metrics").text


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.parametrize("mode", [MODE])
def test_same_person_verified_different_people_not(server, mode):
    base_url, _ = server
    same = [verify(base_url, a, b) for a, b in SAME_PERSON]
    different = [verify(base_url, a, b) for a, b in DIFFERENT_PEOPLE]
    if mode == "tiny-model-mechanics-only":
        # Random weights recognise nobody: check only that verdicts follow the threshold.
        for result in same + different:
            assert result["verified"] == (result["similarity"] >= result["threshold"]), mode
        return
    assert all(result["verified"] for result in same), [r["similarity"] for r in same]
    assert not any(result["verified"] for result in different), [
        r["similarity"] for r in different]
    assert min(r["similarity"] for r in same) > max(r["similarity"] for r in different)


def slow_embed_body(started: threading.Event) -> Iterator[bytes]:
    """A JSON /embed body sent in two parts, half a second apart, flagging the first part."""
    encoded = base64.b64encode(images.PHOTO_ONE_FACE.read_bytes()).decode()
    body = json.dumps({"images": [encoded] * 4}).encode()
    yield body[: len(body) // 2]
    started.set()
    time.sleep(0.5)
    yield body[len(body) // 2:]


@pytest.mark.slow
@pytest.mark.e2e
def test_sigterm_lets_in_flight_requests_finish(server):
    base_url, process = server
    started = [threading.Event() for _ in range(3)]

    def call(flag: threading.Event) -> httpx.Response:
        return httpx.post(f"{base_url}/embed", content=slow_embed_body(flag), timeout=60,
                          headers={"content-type": "application/json"})

    with ThreadPoolExecutor(len(started)) as pool:
        futures = [pool.submit(call, flag) for flag in started]
        assert all(flag.wait(timeout=30) for flag in started)
        time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        responses = [future.result(timeout=60) for future in futures]
    assert [response.status_code for response in responses] == [200] * len(started)
    assert all(len(response.json()["results"]) == 4 for response in responses)
    # uvicorn re-raises the captured SIGTERM once its graceful shutdown is complete
    assert process.wait(timeout=60) in (0, -signal.SIGTERM)
    log = process.stdout.read()
    assert "Application shutdown complete" in log and "Traceback" not in log
