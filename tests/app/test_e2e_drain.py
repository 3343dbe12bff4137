"""The drain on SIGTERM of a real ``python -m app`` on 127.0.0.1 under 32 concurrent clients
(issue 10): ``/ready`` turns 503 while every in-flight request completes."""

import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx2
import image_factory as images
import pytest
from servers import free_port, start_server

FACE = images.PHOTO_ONE_FACE.read_bytes()
FACE_2 = images.PHOTO_ONE_FACE_2.read_bytes()

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def test_sigterm_drains_under_32_clients(tmp_path):
    """/ready says 503 during the drain while every in-flight request completes."""
    port = free_port()
    process = start_server(
        port, tmp_path / "server.log", FACEVERIFY_DRAIN_S="4", FACEVERIFY_GRACEFUL_TIMEOUT_S="20"
    )
    base, stop, warmed = f"http://127.0.0.1:{port}", threading.Event(), threading.Barrier(33)
    files = {"image1": ("a.jpg", FACE), "image2": ("b.jpg", FACE_2)}

    def client() -> list[int]:
        statuses = []
        with httpx2.Client(base_url=base, timeout=60) as http:
            statuses.append(http.post("/verify", files=files).status_code)
            warmed.wait(timeout=120)
            for _ in range(200):  # bounded: about 10 s of load at most
                if stop.is_set():
                    break
                statuses.append(http.post("/verify", files=files).status_code)
        return statuses

    try:
        with ThreadPoolExecutor(32) as pool:
            futures = [pool.submit(client) for _ in range(32)]
            warmed.wait(timeout=120)
            time.sleep(0.5)
            process.send_signal(signal.SIGTERM)
            ready, health = drain_probe(base)
            stop.set()
            statuses = [status for future in futures for status in future.result(timeout=120)]
        assert process.wait(timeout=60) in (0, -signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
    assert ready == 503 and health == 200
    assert len(statuses) > 32 and set(statuses) == {200}, sorted(set(statuses))
    log = (tmp_path / "server.log").read_text()
    assert "draining" in log and "Traceback" not in log


# ``python -m app`` whose image preparation sleeps first: a decode still running at shutdown.
SLOW_DECODE = """
import sys, time
import app.inference.image_preparation as preparation
from app.__main__ import main
prepare = preparation.ImagePreparer.prepare
def slow(self, image, *options):
    print("slow decode started", flush=True)
    time.sleep(15)
    return prepare(self, image, *options)
preparation.ImagePreparer.prepare = slow
sys.exit(main())
"""


def test_a_decode_in_flight_does_not_delay_exit_past_drain_and_grace(tmp_path):
    """The exit came 3.3 s past drain + grace: shutdown waited for the running decode."""
    port, log = free_port(), tmp_path / "server.log"
    drain_s, grace_s = 1.0, 1.0
    process = start_server(
        port,
        log,
        ("-c", SLOW_DECODE),
        FACEVERIFY_DRAIN_S=str(drain_s),
        FACEVERIFY_GRACEFUL_TIMEOUT_S=str(grace_s),
        FACEVERIFY_PREPROCESS_MODE="thread",  # the patch applies in the server's own threads
    )
    files = {"image1": ("a.jpg", FACE), "image2": ("b.jpg", FACE_2)}
    try:
        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(
                httpx2.post, f"http://127.0.0.1:{port}/verify", files=files, timeout=60
            )
            wait_for_line(log, "slow decode started")
            signalled = time.monotonic()
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) in (0, -signal.SIGTERM)
            took = time.monotonic() - signalled
            status = answer.result(timeout=5).status_code
    finally:
        if process.poll() is None:
            process.kill()
    assert took < drain_s + grace_s + 1.0, log.read_text()
    assert status == 503  # cancelled at the graceful timeout: model_not_ready


def wait_for_line(log, text: str, timeout: float = 30) -> None:
    """Wait until the server's log holds ``text``."""
    deadline = time.monotonic() + timeout
    while text not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)


def drain_probe(base: str) -> tuple[int, int]:
    """The first non-200 /ready after SIGTERM, and /health at that moment."""
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        ready = httpx2.get(f"{base}/ready", timeout=5)
        if ready.status_code != 200:
            assert ready.json()["error"]["code"] == "model_not_ready"
            return ready.status_code, httpx2.get(f"{base}/health", timeout=5).status_code
        time.sleep(0.05)
    return 200, 200
