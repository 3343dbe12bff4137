"""Request bodies in the process's memory budget (FACEVERIFY_MEMORY_BUDGET_BYTES): bytes are
reserved as they arrive (never from a declared length), a chunk that finds no room within
FACEVERIFY_MEMORY_WAIT_S gets 503 server_busy, and every reservation comes back."""

import asyncio
import base64
import json
import socket

import httpx2
import image_factory as images
import pytest
from servers import free_port, start_server

from app.http.body_limits import BodyLimitMiddleware
from app.http.middleware import ErrorBoundaryMiddleware
from app.inference.memory_budget import MemoryBudget
from app.settings import MIB
from app.settings_loading import SettingsError


async def read_all(scope, receive, send):
    """A route that reads its whole body and answers its length."""
    size, more = 0, True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(size).encode()})


def guarded_app(wait_s: float = 0.2):
    """Routes limited to 600 bytes (/small) and 1000 (elsewhere); 1000 bytes held at once;
    errors answered as in the service."""
    budget = MemoryBudget(1000, wait_s)
    return ErrorBoundaryMiddleware(
        BodyLimitMiddleware(
            read_all, limits={"/small": 600}, default_limit=1000, timeout_s=30, budget=budget
        )
    )


async def stalled_body(first: bytes, release: asyncio.Event, rest: bytes):
    """A body that sends ``first``, waits for ``release``, then sends ``rest``."""
    yield first
    await release.wait()
    yield rest


def test_a_declared_length_reserves_nothing_until_the_bytes_arrive():
    async def scenario():
        release = asyncio.Event()
        transport = httpx2.ASGITransport(app=guarded_app())
        async with httpx2.AsyncClient(transport=transport, base_url="http://test") as client:
            declared = {"content-length": "600"}
            body = stalled_body(b"x" * 300, release, b"y" * 300)
            holding = asyncio.create_task(client.post("/small", content=body, headers=declared))
            await asyncio.sleep(0.05)  # 300 of its declared 600 bytes have arrived
            fits = await client.post("/other", content=b"z" * 700)
            busy = await client.post("/other", content=b"z" * 701)
            release.set()
            held = await holding
            after = await client.post("/other", content=b"z" * 1000)
        return fits, busy, held, after

    fits, busy, held, after = asyncio.run(scenario())
    assert (fits.status_code, fits.text) == (200, "700")
    assert busy.status_code == 503
    assert busy.json()["error"]["code"] == "server_busy"
    assert busy.headers["retry-after"] == "1" and busy.headers["connection"] == "close"
    assert (held.status_code, held.text) == (200, "600")
    assert (after.status_code, after.text) == (200, "1000")


def test_a_body_waits_for_room_freed_within_the_wait():
    async def scenario():
        release = asyncio.Event()
        transport = httpx2.ASGITransport(app=guarded_app(wait_s=10))
        async with httpx2.AsyncClient(transport=transport, base_url="http://test") as client:
            body = stalled_body(b"x" * 300, release, b"y" * 300)
            holding = asyncio.create_task(client.post("/small", content=body))
            await asyncio.sleep(0.05)
            waiting = asyncio.create_task(client.post("/other", content=b"z" * 1000))
            await asyncio.sleep(0.1)
            assert not waiting.done()  # no room until the first request is answered
            release.set()
            return await holding, await waiting

    held, waited = asyncio.run(scenario())
    assert (held.status_code, held.text) == (200, "600")
    assert (waited.status_code, waited.text) == (200, "1000")


def test_content_length_with_transfer_encoding_is_refused():
    async def scenario():
        transport = httpx2.ASGITransport(app=guarded_app())
        async with httpx2.AsyncClient(transport=transport, base_url="http://test") as client:
            headers = {"content-length": "10", "transfer-encoding": "chunked"}
            return await client.post("/other", content=b"z" * 10, headers=headers)

    response = asyncio.run(scenario())
    assert response.status_code == 400 and response.headers["connection"] == "close"
    assert response.json()["error"]["code"] == "invalid_request"
    assert "Transfer-Encoding" in response.json()["error"]["message"]


def test_chunked_bodies_reserve_as_they_arrive():
    async def chunks(count: int, size: int):
        for _ in range(count):
            yield b"c" * size

    async def scenario():
        release = asyncio.Event()
        transport = httpx2.ASGITransport(app=guarded_app())
        async with httpx2.AsyncClient(transport=transport, base_url="http://test") as client:
            body = stalled_body(b"x" * 300, release, b"y" * 300)
            holding = asyncio.create_task(client.post("/small", content=body))
            await asyncio.sleep(0.05)  # 300 bytes received and held so far
            small = await client.post("/other", content=chunks(6, 100))  # 600 more: fits
            too_many = await client.post("/other", content=chunks(8, 100))  # 800: does not
            release.set()
            held = await holding
            after = await client.post("/other", content=chunks(10, 100))
        return small, too_many, held, after

    small, too_many, held, after = asyncio.run(scenario())
    assert (small.status_code, small.text) == (200, "600")
    assert too_many.status_code == 503 and too_many.json()["error"]["code"] == "server_busy"
    assert (held.status_code, held.text) == (200, "600")
    assert (after.status_code, after.text) == (200, "1000")


def test_failed_uploads_give_their_reservation_back():
    async def chunked(size):
        yield b"x" * size

    async def scenario():
        transport = httpx2.ASGITransport(app=guarded_app())
        async with httpx2.AsyncClient(transport=transport, base_url="http://test") as client:
            failures = [
                await client.post("/small", content=chunked(700)),  # over its limit mid-read
                await client.post("/small", content=b"x" * 700),  # declared over the limit
            ]
            whole_budget = await client.post("/other", content=b"z" * 1000)
        return failures, whole_budget

    failures, whole_budget = asyncio.run(scenario())
    assert [r.status_code for r in failures] == [413, 413]
    assert (whole_budget.status_code, whole_budget.text) == (200, "1000")


def test_a_budget_below_the_largest_body_is_refused_at_startup(make_settings):
    with pytest.raises(SettingsError, match="FACEVERIFY_MEMORY_BUDGET_BYTES"):
        make_settings(memory_budget_bytes=128 * MIB)  # /embed takes up to about 171 MiB


def test_the_replaced_body_budget_setting_is_refused_by_name(make_settings, monkeypatch):
    monkeypatch.setenv("FACEVERIFY_MAX_INFLIGHT_BODY_BYTES", str(512 * MIB))
    with pytest.raises(SettingsError, match="replaced by FACEVERIFY_MEMORY_BUDGET_BYTES"):
        make_settings()


def send_headers(port: int, length: int) -> socket.socket:
    """Open a connection and send an /embed request's headers only (no body yet)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = (
        "POST /embed HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        f"content-length: {length}\r\n\r\n"
    )
    sock.sendall(head.encode())
    return sock


def answer(sock: socket.socket, body: bytes = b"") -> tuple[int, dict]:
    """Send ``body``, then read the response: its status and JSON body."""
    if body:
        sock.sendall(body)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, payload = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    while len(payload) < int(headers["content-length"]):
        payload += sock.recv(65536)
    return int(lines[0].split()[1]), json.loads(payload)


@pytest.mark.slow
@pytest.mark.e2e
def test_real_server_idle_declared_bodies_hold_nothing(tmp_path):
    """Clients that announce large bodies and send nothing do not lock uploads out (they used
    to until the body timeout); a request with both framings gets 400; once the idle ones hang
    up, a body as large as the budget allows is served."""
    port = free_port()
    process = start_server(
        port,
        tmp_path / "server.log",
        FACEVERIFY_MAX_IMAGE_BYTES=str(MIB),
        FACEVERIFY_MEMORY_BUDGET_BYTES=str(96 * MIB),
    )
    stalled: list[socket.socket] = []
    try:
        stalled = [send_headers(port, 20 * MIB) for _ in range(8)]  # 160 MiB announced
        files = {"image1": ("a.jpg", images.PHOTO_ONE_FACE.read_bytes())}
        files["image2"] = ("b.jpg", images.PHOTO_ONE_FACE_2.read_bytes())
        verify = httpx2.post(f"http://127.0.0.1:{port}/verify", files=files, timeout=30)
        assert verify.status_code == 200, verify.text
        with socket.create_connection(("127.0.0.1", port), timeout=10) as both:
            both.sendall(
                b"POST /embed HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
                b"content-length: 4\r\ntransfer-encoding: chunked\r\n\r\n4\r\n{}  \r\n0\r\n\r\n"
            )
            status, body = answer(both)
        assert (status, body["error"]["code"]) == (400, "invalid_request")
        for sock in stalled:
            sock.close()
        face = base64.b64encode(images.PHOTO_ONE_FACE.read_bytes())
        padded = b'{"images": ["' + face + b'"]}' + b" " * (20 * MIB)
        with send_headers(port, len(padded)) as admitted:
            status, body = answer(admitted, padded)
        assert status == 200 and len(body["results"]) == 1, body
    finally:
        for sock in stalled:
            sock.close()
        process.kill()
        process.wait(timeout=30)
    assert "Traceback" not in (tmp_path / "server.log").read_text()
