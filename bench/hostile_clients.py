"""The raw-socket clients of the hostile mix (bench/hostile_mix.py): a POST sent in pieces that
stops as soon as the server answers, and a client that sends a byte a second.

Each returns the answer as ``"status code"`` (the error code, or the per-image codes).
"""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor


def post_raw(port: int, path: str, content_type: str, body: bytes) -> str:
    """POST ``body`` in 256 KiB pieces, stopping as soon as the server answers; 'status code'."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        sock.sendall(head)
        for start in range(0, len(body), 256 * 1024):
            if select.select([sock], [], [], 0)[0]:
                break
            try:
                sock.sendall(body[start : start + 256 * 1024])
            except OSError:
                break
        return _answer(_read(sock))


def _read(sock: socket.socket) -> bytes:
    data = b""
    try:
        while chunk := sock.recv(1 << 16):
            data += chunk
    except OSError:
        pass
    return data


def _answer(raw: bytes) -> str:
    if not raw:
        return "no answer"
    head, _, body = raw.partition(b"\r\n\r\n")
    status = head.split(b" ")[1].decode()
    try:
        payload = json.loads(body)
    except ValueError:
        return status
    if "error" in payload:
        return f"{status} {payload['error']['code']}"
    codes = [r.get("error", {}).get("code", "ok") for r in payload.get("results", [])]
    return f"{status} " + ",".join(sorted(set(codes))) if codes else status


def trickle(port: int, head: bytes, seconds: float) -> str:
    """Send ``head``, then a byte a second until the server answers or ``seconds`` pass."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=seconds + 5) as sock:
        sock.sendall(head)
        while time.monotonic() - started < seconds:
            if select.select([sock], [], [], 1.0)[0]:
                return _answer(_read(sock))
            try:
                sock.sendall(b"a")
            except OSError:
                break
    return "still open"


def parallel(count: int, job: Callable[[], str]) -> list[str]:
    """Run ``job`` ``count`` times at once; the answers."""
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: job(), range(count)))
