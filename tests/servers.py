"""Helpers of the tests that run the service as a real uvicorn process on 127.0.0.1."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import httpx

from bench.local_service import free_port

__all__ = ["free_port", "wait_ready"]


def wait_ready(
    base_url: str, process: subprocess.Popen, output: Callable[[], str], timeout: float = 90.0
) -> None:
    """Poll ``/ready`` until it answers 200.

    Raises:
        AssertionError: The server exited, or was not ready within ``timeout`` seconds; the
            message holds ``output()`` (the server's log).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early:\n{output()}")
        try:
            if httpx.get(f"{base_url}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"server did not become ready in time:\n{output()}")
