"""No client starves the others (issue 41): preparation workers shared fairly between requests
and a CPU budget per request, through the app, in threads and processes."""

import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from hostile_requests import FACE, FACE_2, verify_files
from PIL import Image

from app.inference.image_preparation import ImagePreparer
from facecore.errors import NoFaceError

SLOW = b"SLOW"  # an "image" the patched preparation holds until the test lets it go


def wait_until(condition, timeout: float = 30.0) -> None:
    """Poll ``condition`` every 10 ms; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
def gated(monkeypatch):
    """Patch preparation: a SLOW image waits for ``gate`` (then has no face); record starts."""
    gate, started = threading.Semaphore(0), []
    prepare = ImagePreparer.prepare

    def patched(self, image, *options):
        started.append("slow" if image.data.startswith(SLOW) else "face")
        if image.data.startswith(SLOW):
            assert gate.acquire(timeout=20)
            raise NoFaceError("slow image")
        return prepare(self, image, *options)

    monkeypatch.setattr(ImagePreparer, "prepare", patched)
    return gate, started


def test_a_short_request_is_served_while_a_long_one_holds_the_workers(make_client, gated):
    """FIFO would start all 8 slow images first: /verify waited for the whole /embed. Here the
    long request holds two of the three workers and /verify is prepared on the third."""
    gate, started = gated
    client = make_client(preprocess_workers=3)
    with ThreadPoolExecutor(2) as pool:
        long = pool.submit(client.post, "/embed", files=[("images", ("s", SLOW))] * 8)
        try:
            wait_until(lambda: started == ["slow", "slow"])
            wait_until(lambda: client.app.state.service.images_waiting == 6)  # the third kept
            answer = pool.submit(client.post, "/verify", files=verify_files()).result(timeout=60)
            assert answer.status_code == 200, answer.text
            assert started == ["slow", "slow", "face", "face"]
            assert not long.done()
        finally:
            for _ in range(8):
                gate.release()
        results = long.result(timeout=60).json()["results"]
    assert [r["error"]["code"] for r in results] == ["no_face"] * 8


def test_requests_take_turns_on_a_single_worker(make_client, gated):
    """Round robin: with one worker, two long requests alternate image by image."""
    gate, started = gated
    client = make_client(preprocess_workers=1)
    faces_then = [("images", ("f", FACE)), ("images", ("f", FACE_2)), ("images", ("s", SLOW))]
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(client.post, "/embed", files=[("images", ("s", SLOW))] * 3)
        wait_until(lambda: started == ["slow"])
        second = pool.submit(client.post, "/embed", files=faces_then)
        try:
            wait_until(lambda: client.app.state.service.images_waiting == 5)
        finally:
            for _ in range(4):
                gate.release()
        assert first.result(timeout=60).status_code == second.result(timeout=60).status_code
    # first: s1 s2 s3, second: f f S (FIFO: s1 s2 s3 f f S). The second came after s1 was
    # served: s1, s2, then turns: f, s3, f, S.
    assert started == ["slow", "slow", "face", "slow", "face", "slow"]


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_images_past_the_cpu_budget_are_refused(make_client, mode):
    client = make_client(preprocess_workers=1, preprocess_mode=mode, prepare_budget_s=0.001)
    response = client.post("/embed", files=[("images", ("f.jpg", FACE))] * 3)
    assert response.status_code == 200
    results = response.json()["results"]
    assert "embedding" in results[0]  # the first image spends the budget (a few ms of CPU)
    for result in results[1:]:
        assert result["error"]["code"] == "preparation_budget_exceeded"
        assert "FACEVERIFY_PREPARE_BUDGET_S" in result["error"]["message"]
    refused = client.post("/verify", files=verify_files())
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "preparation_budget_exceeded"
    assert client.post("/embed", files=[("images", ("f.jpg", FACE))]).status_code == 200


def large_face_jpeg() -> bytes:
    """The fixture face at 2400 px: its decode is priced over ``INLINE_DECODE_BYTES``."""
    buffer = io.BytesIO()
    Image.open(io.BytesIO(FACE)).convert("RGB").resize((2400, 2400)).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.mark.parametrize("size", ["ordinary", "large"])
def test_process_workers_answer_like_threads(make_client, size):
    """The same pair through worker processes and through threads: the same similarity."""
    face = FACE if size == "ordinary" else large_face_jpeg()
    scores = []
    for mode in ("process", "thread"):
        client = make_client(preprocess_mode=mode)
        answer = client.post("/verify", files=verify_files(face, face))
        assert answer.status_code == 200, answer.text
        scores.append(answer.json()["similarity"])
        bad = client.post("/verify", files=verify_files(b"not an image"))
        assert bad.json()["error"]["code"] == "invalid_image"
    assert scores[0] == pytest.approx(scores[1], abs=1e-6)


def test_only_large_images_take_the_hop_to_a_process(make_client, monkeypatch):
    """Ordinary photos are prepared in the server's proxy thread; larger ones in a process."""
    client = make_client(preprocess_mode="process")
    workers = client.app.state.service._workers
    idle, taken = workers._idle, []

    class CountedIdle:  # the idle processes, counting each one taken for a job
        def get(self):
            taken.append(1)
            return idle.get()

        def put(self, item):
            idle.put(item)

    monkeypatch.setattr(workers, "_idle", CountedIdle())
    assert client.post("/embed", files=[("images", ("f.jpg", FACE))] * 2).status_code == 200
    assert taken == []
    large = client.post("/embed", files=[("images", ("f.jpg", large_face_jpeg()))])
    assert "embedding" in large.json()["results"][0]
    assert taken == [1]
