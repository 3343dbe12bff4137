"""The memory cases of the hostile mix (issue 41, section 1): decodes that cost far more than
their file, a JSON string as long as the body, both framings at once, idle declared bodies.

Appended to :func:`bench.hostile_cases.cases`; names start with ``MEM`` (``--only MEM``).
"""

from __future__ import annotations

import io
import select
import socket
import time
from collections.abc import Callable

import httpx2
from PIL import Image

from bench import hostile_payloads as payloads
from bench.hostile_clients import _answer, _read, parallel, post_raw

FORM = f"multipart/form-data; boundary={payloads.BOUNDARY}"
Case = tuple[str, bool, Callable[[], Callable[[], list[str]]]]


def memory_cases(port: int) -> list[Case]:
    """(name, within the limits?, prepare) of each memory case."""
    webp = _blank("RGBA", (16383, 2441), "WEBP", lossless=True)  # 1.6 KB, 40 MP
    return [
        ("MEM 16 x 1.6 KB RGBA WebP 16383x2441 -> /embed", True, _embed(port, webp, 16)),
        ("MEM 40 MP RGBA PNG -> /verify", True, _verify(port, "RGBA", "PNG")),
        ("MEM 40 MP LA PNG -> /verify", True, _verify(port, "LA", "PNG")),
        ("MEM 40 MP 16-bit PNG -> /verify", True, _verify(port, "I;16", "PNG")),
        ("MEM 40 MP I TIFF -> /verify", True, _verify(port, "I", "TIFF")),
        ("MEM 25 MP RGBA PNG -> /verify", True, _verify(port, "RGBA", "PNG", (6124, 4082))),
        ("MEM 8 x 40 MP 16-bit PNG pairs at once", True, _verify(port, "I;16", "PNG", times=8)),
        (
            "MEM 8 x 25 MP RGBA PNG pairs at once",
            True,
            _verify(port, "RGBA", "PNG", (6124, 4082), 8),
        ),
        ("MEM 8 x 40 MP RGBA PNG pairs at once", True, _verify(port, "RGBA", "PNG", times=8)),
        ("MEM 178 MB JSON base64 string -> /embed", False, _long_string(port)),
        ("MEM 8 x chunked + Content-Length", False, lambda: lambda: parallel(8, _both(port))),
        ("MEM 2 idle 170 MB declared, then /verify", True, lambda: lambda: _idle_then(port)),
    ]


def _blank(mode: str, size: tuple[int, int], fmt: str, **options: object) -> bytes:
    """A uniform image: a tiny file whose decode costs what its header declares."""
    buffer = io.BytesIO()
    colour = {"RGBA": (10, 20, 30, 128), "LA": (90, 128)}.get(mode, 3000)
    Image.new(mode, size, colour).save(buffer, fmt, **options)
    return buffer.getvalue()


def _verify(
    port: int, mode: str, fmt: str, size: tuple[int, int] = (7744, 5164), times: int = 1
) -> Callable[[], Callable[[], list[str]]]:
    def prepare() -> Callable[[], list[str]]:
        options = {"compression": "tiff_deflate"} if fmt == "TIFF" else {}
        image = _blank(mode, size, fmt, **options)
        body = payloads.verify_pair(image, image)
        return lambda: parallel(times, lambda: post_raw(port, "/verify", FORM, body))

    return prepare


def _embed(port: int, image: bytes, count: int) -> Callable[[], Callable[[], list[str]]]:
    body = payloads.multipart([("images", image)] * count)
    return lambda: lambda: [post_raw(port, "/embed", FORM, body)]


def _long_string(port: int) -> Callable[[], Callable[[], list[str]]]:
    def prepare() -> Callable[[], list[str]]:
        body = b'{"images": ["' + b"A" * 178_000_000 + b'"]}'
        return lambda: [post_raw(port, "/embed", "application/json", body)]

    return prepare


def _both(port: int) -> Callable[[], str]:
    """A chunked body of up to 130 MiB that also declares a Content-Length of 1000."""

    def send() -> str:
        head = (
            b"POST /embed HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"%x\r\n" % (1 << 20) + b" " * (1 << 20) + b"\r\n"
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            sock.sendall(head)
            for _ in range(130):
                if select.select([sock], [], [], 0)[0]:
                    break
                try:
                    sock.sendall(chunk)
                except OSError:
                    break
            return _answer(_read(sock))

    return send


def _idle_then(port: int) -> list[str]:
    """Two clients announce 170 MB bodies and send nothing; a /verify meanwhile."""
    head = (
        b"POST /embed HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        b"Content-Length: 170000000\r\n\r\n"
    )
    idle = [socket.create_connection(("127.0.0.1", port), timeout=60) for _ in range(2)]
    try:
        for sock in idle:
            sock.sendall(head)
        time.sleep(0.2)
        files = {"image1": ("a.jpg", payloads.FACE), "image2": ("b.jpg", payloads.FACE)}
        response = httpx2.post(f"http://127.0.0.1:{port}/verify", files=files, timeout=120)
        return [f"{response.status_code} {'ok' if response.is_success else 'refused'}"]
    finally:
        for sock in idle:
            sock.close()
