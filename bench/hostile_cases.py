"""The cases of the hostile mix (issue 10): what each sends, and whether it is within limits.

Each case is (name, within the configured limits?, prepare); ``prepare()`` builds the payload
before the timing starts and returns the timed send, which returns the answers' status/code.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from bench import hostile_fairness as fairness
from bench import hostile_payloads as payloads
from bench.hostile_clients import parallel, post_raw, trickle
from bench.hostile_memory import memory_cases

JSON = "application/json"
FORM = f"multipart/form-data; boundary={payloads.BOUNDARY}"

Prepare = Callable[[], Callable[[], list[str]]]


def cases(port: int) -> list[tuple[str, bool, Prepare]]:
    """(name, within the limits?, prepare) of every case; prepare() returns the timed send."""
    return (
        [("baseline: idle service (noise floor)", True, _idle)]
        + _image_cases(port)
        + _body_cases(port)
        + _upload_cases(port)
        + _slow_client_cases(port)
        + memory_cases(port)
        + _fairness_cases(port)
    )


def _once(
    port: int, path: str, content_type: str, build: Callable[[], bytes], times: int = 1
) -> Prepare:
    """A case that posts ``build()``'s body ``times`` times at once (built before timing)."""

    def prepare() -> Callable[[], list[str]]:
        body = build()

        def send() -> list[str]:
            with ThreadPoolExecutor(times) as pool:
                return list(
                    pool.map(lambda _: post_raw(port, path, content_type, body), range(times))
                )

        return send

    return prepare


def _idle() -> Callable[[], list[str]]:
    return lambda: (time.sleep(2.0), ["-"])[1]


def _image_cases(port: int) -> list[tuple[str, bool, Prepare]]:
    """Images whose size or shape is hostile (H1) or at the limits."""
    p = payloads
    verify = [
        ("H1 40000x1000 PNG, no face", False, lambda: p.png(40_000, 1_000)),
        ("H1 20000x2000 PNG, no face", False, lambda: p.png(20_000, 2_000)),
        ("H1 40,000,000x1 PNG", False, lambda: p.png_header_only(40_000_000, 1)),
        ("H1 8000x1000 PNG, no face (aspect 8)", True, lambda: p.png(8_000, 1_000)),
        ("40 MP JPEG of a face (max pixels)", True, p.max_pixels_jpeg),
    ]
    return [
        (name, within, _once(port, "/verify", FORM, lambda image=image: p.verify_pair(image())))
        for name, within, image in verify
    ]


def _upload_cases(port: int) -> list[tuple[str, bool, Prepare]]:
    """Many or large images within the limits, one request or eight at once (M1)."""
    p = payloads
    return [
        (
            "16 face JPEGs, base64 JSON -> /embed",
            True,
            _once(port, "/embed", JSON, lambda: p.base64_images_json([p.FACE] * 16)),
        ),
        (
            "16 x 7.9 MiB noise PNGs, multipart -> /embed",
            True,
            _once(port, "/embed", FORM, lambda: p.multipart(_noise_pngs())),
        ),
        (
            "16 x 7.9 MiB noise PNGs, base64 JSON -> /embed",
            True,
            _once(
                port, "/embed", JSON, lambda: p.base64_images_json([b for _, b in _noise_pngs()])
            ),
        ),
        (
            "M1 8 x 126 MiB multipart at once -> /embed",
            True,
            _once(port, "/embed", FORM, lambda: p.multipart(_noise_pngs()), times=8),
        ),
    ]


def _noise_pngs() -> list[tuple[str, bytes]]:
    """16 multipart ``images`` fields of one 7.9 MiB noise PNG (incompressible)."""
    return [("images", payloads.png(1600, 1740, True))] * 16


def _body_cases(port: int) -> list[tuple[str, bool, Prepare]]:
    """Bodies too large (H2, M1) or too deep / long to parse (M6)."""
    p = payloads
    return [
        (
            "H2 60 MB JSON of tiny strings -> /embed",
            False,
            _once(port, "/embed", JSON, lambda: p.tiny_strings_json(60)),
        ),
        (
            "H2 170 MB JSON of tiny strings -> /embed",
            False,
            _once(port, "/embed", JSON, lambda: p.tiny_strings_json(170)),
        ),
        (
            "M1 4 x 170 MB JSON at once -> /embed",
            False,
            _once(port, "/embed", JSON, lambda: p.tiny_strings_json(170), times=4),
        ),
        (
            "M1 179 MB body -> /verify",
            False,
            _once(port, "/verify", JSON, lambda: b" " * (179 * 1024 * 1024)),
        ),
        ("M6 JSON nested 100000 deep", False, _once(port, "/verify", JSON, lambda: b"[" * 100_000)),
        (
            "M6 5000-digit integer",
            False,
            _once(port, "/verify", JSON, lambda: b'{"threshold": ' + b"9" * 5000 + b"}"),
        ),
    ]


def _slow_client_cases(port: int) -> list[tuple[str, bool, Prepare]]:
    """Clients that send a byte a second (M4): headers, then bodies."""
    slow_head = b"GET /health HTTP/1.1\r\nHost: bench\r\nX-Slow: "
    slow_body = (
        b"POST /verify HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000\r\n\r\n{"
    )
    return [
        (
            "M4 20 clients, 1 header byte/s",
            False,
            lambda: lambda: parallel(20, lambda: trickle(port, slow_head, 30)),
        ),
        (
            "M4 10 clients, 1 body byte/s",
            False,
            lambda: lambda: parallel(10, lambda: trickle(port, slow_body, 90)),
        ),
    ]


def _fairness_cases(port: int) -> list[tuple[str, bool, Prepare]]:
    """Issue 41: a request that holds the workers, /health alone, made-up methods."""
    return [
        (
            "F1 16 x 16383x2441 lossless RGBA WebP -> /embed",
            True,
            _once(port, "/embed", FORM, fairness.huge_webps_body),
        ),
        ("F2 2 clients looping /health for 5 s", True, lambda: fairness.health_loops(port, 2, 5)),
        (
            "F3 5000 requests with made-up methods",
            False,
            lambda: fairness.made_up_methods(port, 5000),
        ),
    ]
