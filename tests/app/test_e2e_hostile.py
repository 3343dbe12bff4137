"""Hostile clients against a real ``python -m app`` on 127.0.0.1 (issue 10): slow headers and
bodies, oversized headers, aborted uploads, log injection and start-up failures (the drain on
SIGTERM under 32 concurrent clients is in test_e2e_drain.py). Short timeouts are configured so
the cases stay quick."""

import json
import re
import select
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import image_factory as images
import pytest
from fixture_paths import TINY_MODEL
from servers import ROOT, free_port, server_env, start_server

FACE = images.PHOTO_ONE_FACE.read_bytes()
FACE_2 = images.PHOTO_ONE_FACE_2.read_bytes()
FAST_LIMITS = {
    "FACEVERIFY_HEADER_TIMEOUT_S": "1",
    "FACEVERIFY_BODY_TIMEOUT_S": "2",
    "FACEVERIFY_MAX_HEADER_BYTES": "16384",
    "FACEVERIFY_DRAIN_S": "0",
    "FACEVERIFY_KEEP_ALIVE_TIMEOUT_S": "1",
}

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port, log = free_port(), tmp_path_factory.mktemp("server") / "server.log"
    process = start_server(port, log, **FAST_LIMITS)
    yield port, log
    process.kill()
    process.wait(timeout=30)


def trickle(port: int, head: bytes, max_seconds: float = 10.0) -> tuple[bytes, float]:
    """Send ``head``, then one byte every 0.2 s until the server answers; the answer and when."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head)
        while time.monotonic() - started < max_seconds:
            readable, _, _ = select.select([sock], [], [], 0.2)
            if readable:
                return read_until_closed(sock), time.monotonic() - started
            try:
                sock.sendall(b"a")
            except OSError:
                break
        return read_until_closed(sock), time.monotonic() - started


def read_until_closed(sock: socket.socket) -> bytes:
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return data


def status_and_code(raw: bytes) -> tuple[int, str]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    return status, json.loads(body)["error"]["code"]


def test_slow_headers_get_408_and_are_closed(server):
    port, _ = server
    answer, seconds = trickle(port, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    assert status_and_code(answer) == (408, "request_timeout") and seconds < 4


def test_slow_body_gets_408(server):
    port, _ = server
    head = (
        b"POST /verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000\r\n\r\n{"
    )
    answer, seconds = trickle(port, head)
    assert status_and_code(answer) == (408, "request_timeout") and seconds < 5
    assert b"connection: close" in answer.lower()


@pytest.mark.parametrize(
    "headers",
    [
        b"X-Big: " + b"a" * 40_000 + b"\r\n",  # one header over the 16 KiB cap
        b"a: b\r\n" * 5_000,  # many small headers: the same cap bounds their count
    ],
    ids=["one huge header", "5000 headers"],
)
def test_oversized_headers_get_a_json_431(server, headers):
    port, _ = server
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
        answer = read_until_closed(sock)
    assert status_and_code(answer) == (431, "headers_too_large")


def test_malformed_request_gets_a_json_400(server):
    port, _ = server
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        answer = read_until_closed(sock)
    assert status_and_code(answer) == (400, "invalid_request")


def test_idle_keep_alive_connection_is_closed(server):
    port, _ = server
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        started = time.monotonic()
        answer = read_until_closed(sock)  # returns when the server closes the idle connection
    assert answer.startswith(b"HTTP/1.1 200") and time.monotonic() - started < 4


def test_endless_header_is_cut_at_the_cap(server):
    """A header streamed in 8 KiB pieces (as a 50 MB one would be) is refused past the cap."""
    port, _ = server
    sent, answer = 0, b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ")
        while sent < 50 * 1024 * 1024 and not answer:
            sock.sendall(b"a" * 8192)
            sent += 8192
            if select.select([sock], [], [], 0.05)[0]:
                answer = read_until_closed(sock)
    assert status_and_code(answer) == (431, "headers_too_large")
    assert sent < 200 * 1024


def test_aborted_upload_is_not_an_error(server):
    port, log = server
    head = (
        b"POST /embed HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n"
        b"Content-Type: multipart/form-data; boundary=b0\r\n\r\n--b0\r\n"
        b'Content-Disposition: form-data; name="images"; filename="a.jpg"\r\n\r\n'
    )
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head + FACE)
        time.sleep(0.3)
    time.sleep(0.5)
    metrics = httpx2.get(f"http://127.0.0.1:{port}/metrics").text
    assert re.search(
        r'faceverify_http_requests_total\{[^}]*route="/embed"[^}]*status="499"', metrics
    ) or re.search(r'status="499"', metrics), metrics[-2000:]
    text = log.read_text()
    assert " ERROR " not in text and "Traceback" not in text, text[-3000:]


def test_path_cannot_forge_log_lines(server):
    port, log = server
    httpx2.get(f"http://127.0.0.1:{port}/health%0aFORGED%20INFO%20line")
    time.sleep(0.3)
    lines = log.read_text().splitlines()
    assert not any(line.startswith("FORGED") for line in lines)
    assert any("\\x0aFORGED" in line for line in lines)


def test_headers_of_a_normal_response(server):
    port, _ = server
    response = httpx2.post(
        f"http://127.0.0.1:{port}/verify",
        timeout=30,
        files={"image1": ("a.jpg", FACE), "image2": ("b.jpg", FACE_2)},
    )
    assert response.status_code == 200
    assert "server" not in response.headers
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert httpx2.head(f"http://127.0.0.1:{port}/health").status_code == 200


def run_app(port: int, model: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        env=server_env(port, FACEVERIFY_MODEL_PATH=str(model)),
    )


def broken_copy(tmp_path: Path, edit) -> Path:
    model = tmp_path / "model"
    shutil.copytree(TINY_MODEL, model)
    metadata = json.loads((model / "metadata.json").read_text())
    edit(model, metadata)
    return model


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("port in use", "FACEVERIFY_PORT"),
        ("missing model directory", "FACEVERIFY_MODEL_PATH"),
        ("metadata.json not JSON", "FACEVERIFY_MODEL_PATH"),
        ("model.onnx missing", "model.onnx"),
        ("dimension differs from the model's output", "dimension 32"),
    ],
)
def test_start_up_failures_are_one_clear_line(server, tmp_path, case, expected):
    port, model = free_port(), TINY_MODEL
    if case == "port in use":
        port = server[0]
    elif case == "missing model directory":
        model = tmp_path / "nowhere"
    elif case == "metadata.json not JSON":
        model = broken_copy(tmp_path, lambda m, _: (m / "metadata.json").write_text("{"))
    elif case == "model.onnx missing":
        model = broken_copy(tmp_path, lambda m, _: (m / "model.onnx").unlink())
    else:

        def wrong_dimension(m, metadata):
            metadata["embedding"]["dimension"] = 32
            (m / "metadata.json").write_text(json.dumps(metadata))

        model = broken_copy(tmp_path, wrong_dimension)
    result = run_app(port, model)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.startswith("faceverify:")]
    assert len(lines) == 1 and expected in lines[0], result.stderr[-2000:]
    assert "Traceback" not in result.stderr
