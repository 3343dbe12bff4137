"""Our system over HTTP: a local uvicorn server and ``POST /embed``, one image per request."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

from bench.peer.embedders import Embedded, timed

HOST = "127.0.0.1"


def free_port() -> int:
    """Ask the OS for a TCP port that is free on the loopback interface right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _wait_until_up(process: subprocess.Popen, base_url: str, timeout: float) -> None:
    """Poll the server until it answers any HTTP request (startup loads the model first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the service exited with status {process.returncode} at startup")
        try:
            httpx.get(base_url + "/", timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise TimeoutError(f"the service did not answer on {base_url} within {timeout:.0f} s")


@contextmanager
def running_service(model_dir: Path, timeout: float = 60.0) -> Iterator[str]:
    """Start ``uvicorn app.main:app`` on a free loopback port serving ``model_dir``.

    Args:
        model_dir: Exported model directory, passed as ``FACEVERIFY_MODEL_PATH``.
        timeout: Seconds to wait for the server to come up.

    Yields:
        The base URL, e.g. ``http://127.0.0.1:54321``; the server is stopped on exit.
    """
    port = free_port()
    env = {**os.environ, "FACEVERIFY_MODEL_PATH": str(Path(model_dir).resolve()),
           "FACEVERIFY_LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", HOST,
               "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    try:
        base_url = f"http://{HOST}:{port}"
        _wait_until_up(process, base_url, timeout)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class HttpEmbedClient:
    """Sends one encoded image file per ``POST /embed`` and reads ``results[0].embedding``."""

    client: httpx.Client

    def embed_file(self, name: str, data: bytes) -> Embedded:
        """Embed one file over HTTP, timing the whole round trip (upload, decode, model).

        Args:
            name: File name sent in the multipart part.
            data: The encoded image, exactly as stored on disk.

        Returns:
            The embedding (None when the service found no face) and the round-trip time.
        """
        return timed(lambda: self._request(name, data))

    def _request(self, name: str, data: bytes) -> np.ndarray | None:
        response = self.client.post("/embed", files=[("images", (name, data))])
        if response.status_code == 422:
            return None
        response.raise_for_status()
        result = response.json()["results"][0]
        embedding = result.get("embedding")
        if embedding is None or result.get("fallback"):
            return None
        return np.asarray(embedding, dtype=np.float32)


def embed_files_over_http(model_dir: Path, files: list[Path]) -> list[Embedded]:
    """Serve ``model_dir`` locally and embed every file through the API, one request each.

    Args:
        model_dir: Exported model directory.
        files: Image files, sent as stored.

    Returns:
        One :class:`Embedded` per file, in order.
    """
    with running_service(model_dir) as base_url, httpx.Client(base_url=base_url,
                                                               timeout=60.0) as client:
        http = HttpEmbedClient(client)
        http.embed_file(files[0].name, files[0].read_bytes())  # warm-up, not timed
        return [http.embed_file(path.name, path.read_bytes()) for path in files]
