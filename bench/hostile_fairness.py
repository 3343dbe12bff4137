"""The cases of issue 41 in the hostile mix (bench/hostile_cases.py): a request that holds the
preparation workers, a load of ``/health`` only, and requests with made-up methods."""

from __future__ import annotations

import io
import random
import string
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx2
from PIL import Image

from bench import hostile_payloads as payloads


def huge_webp() -> bytes:
    """A 16383x2441 lossless RGBA WebP (1.6 KB; 40 MP to decode, just under the limit)."""
    buffer = io.BytesIO()
    Image.new("RGBA", (16383, 2441), (10, 20, 30, 128)).save(buffer, "WEBP", lossless=True)
    return buffer.getvalue()


def huge_webps_body() -> bytes:
    """A multipart /embed body of 16 such WebPs (the most images a request may carry)."""
    return payloads.multipart([("images", huge_webp())] * 16)


def health_loops(port: int, clients: int, seconds: float) -> Callable[[], list[str]]:
    """The send of ``clients`` clients looping ``GET /health`` for ``seconds``: statuses and
    their own p99."""

    def loop() -> tuple[list[int], list[float]]:
        statuses, took = [], []
        deadline = time.monotonic() + seconds
        with httpx2.Client(timeout=30) as client:
            while time.monotonic() < deadline:
                started = time.monotonic()
                statuses.append(client.get(f"http://127.0.0.1:{port}/health").status_code)
                took.append((time.monotonic() - started) * 1000)
        return statuses, took

    def send() -> list[str]:
        with ThreadPoolExecutor(clients) as pool:
            results = list(pool.map(lambda _: loop(), range(clients)))
        took = sorted(ms for _, each in results for ms in each)
        p99 = took[min(len(took) - 1, int(0.99 * len(took)))]
        statuses = {str(status) for each, _ in results for status in each}
        return [*statuses, f"loops' p99 {p99:.0f} ms ({len(took)})"]

    return send


def made_up_methods(port: int, count: int) -> Callable[[], list[str]]:
    """The send of ``count`` requests with random methods, then a /metrics scrape: statuses,
    the scrape's size and time."""
    url = f"http://127.0.0.1:{port}"

    def some(share: int) -> set[str]:
        rng, statuses = random.Random(share), set()
        with httpx2.Client(timeout=30) as client:
            for _ in range(count // 2):
                method = "".join(rng.choices(string.ascii_uppercase, k=8))
                statuses.add(str(client.request(method, f"{url}/health").status_code))
        return statuses

    def send() -> list[str]:
        with ThreadPoolExecutor(2) as pool:  # two clients, as the /health loops
            statuses = set().union(*pool.map(some, range(2)))
        started = time.monotonic()
        scrape = httpx2.get(f"{url}/metrics", timeout=30)
        took = (time.monotonic() - started) * 1000
        return [*statuses, f"/metrics {len(scrape.content) / 1024:.1f} KB in {took:.0f} ms"]

    return send
