"""HTTP load from ``wrk`` (C, Debian package ``wrk``): a load generator cheap enough that, on a
2-core machine, the server and not the client is what gets measured.

Returns the same fields as the httpx load loop of ``bench_service``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BOUNDARY = "faceverifybenchboundary"
# wrk's Lua hooks: send one fixed multipart body; print the summary as JSON at the end.
SCRIPT = """
local f = io.open("{body}", "rb"); local body = f:read("*all"); f:close()
wrk.method = "POST"; wrk.body = body
wrk.headers["Content-Type"] = "multipart/form-data; boundary={boundary}"
done = function(summary, latency, requests)
  io.write(string.format(
    '\\nRESULT {{"requests": %d, "errors": %d, "non_2xx": %d, "seconds": %f, '
    .. '"p50_ms": %f, "p95_ms": %f, "p99_ms": %f}}\\n',
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout, summary.errors.status, summary.duration / 1e6,
    latency:percentile(50) / 1e3, latency:percentile(95) / 1e3, latency:percentile(99) / 1e3))
end
"""


def wrk_available() -> bool:
    """Whether the ``wrk`` binary is on PATH."""
    return shutil.which("wrk") is not None


def multipart_body(route: str, image: bytes) -> bytes:
    """The request body: one ``images`` part for /embed, ``image1`` + ``image2`` for /verify."""
    fields = ["images"] if route == "/embed" else ["image1", "image2"]
    return multipart_parts([(field, image) for field in fields])


def multipart_parts(parts: list[tuple[str, bytes]]) -> bytes:
    """A multipart body of JPEG file parts, each ``(field name, image bytes)``."""
    encoded = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field}"; '
        f'filename="{field}.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'.encode()
        + image
        + b"\r\n"
        for field, image in parts
    ]
    return b"".join(encoded) + f"--{BOUNDARY}--\r\n".encode()


def wrk_load(
    url: str, route: str, image: bytes, clients: int, seconds: float, rss: Callable[[], float]
) -> dict:
    """Run ``wrk`` with ``clients`` connections for ``seconds``; sample the server's RSS.

    Args:
        url: Base URL of the server (127.0.0.1).
        route: ``/embed`` or ``/verify``.
        image: Encoded image sent in every request.
        clients: Concurrent connections.
        seconds: Duration of the run.
        rss: Returns the server's resident memory in MB.

    Returns:
        Requests, throughput, latency percentiles and peak RSS.
    """
    per_request = 1 if route == "/embed" else 2
    body = multipart_body(route, image)
    return wrk_body_load(url, route, body, per_request, clients, seconds, rss)


def wrk_body_load(
    url: str,
    route: str,
    body: bytes,
    per_request: int,
    clients: int,
    seconds: float,
    rss: Callable[[], float],
) -> dict:
    """``wrk_load`` with a ready multipart ``body`` of ``per_request`` images."""
    with tempfile.TemporaryDirectory() as folder:
        body_file, script = Path(folder) / "body.bin", Path(folder) / "post.lua"
        body_file.write_bytes(body)
        script.write_text(SCRIPT.format(body=body_file, boundary=BOUNDARY))
        command = ["wrk", "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s"]
        command += ["--timeout", "60s", "-s", str(script), f"{url}{route}"]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        peak = [rss()]
        while process.poll() is None:
            peak.append(rss())
            time.sleep(0.2)
        output = process.communicate()[0]
    result = json.loads(output.split("RESULT ", 1)[1])
    if result["errors"] or result["non_2xx"]:
        raise RuntimeError(f"wrk saw failed requests: {result}")
    return {
        "clients": clients,
        "requests": result["requests"],
        "seconds": result["seconds"],
        "requests_per_s": result["requests"] / result["seconds"],
        "images_per_s": per_request * result["requests"] / result["seconds"],
        "p50_ms": result["p50_ms"],
        "p95_ms": result["p95_ms"],
        "p99_ms": result["p99_ms"],
        "peak_rss_mb": max(peak),
        "load_generator": "wrk",
    }
