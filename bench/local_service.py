"""The service as a benchmark talks to it: ``python -m app`` on a free port of 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2

from app.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
# The model the service serves when FACEVERIFY_MODEL_PATH is not set.
SERVED_MODEL = ROOT / Settings.model_fields["model_path"].default


@dataclass(frozen=True)
class LocalService:
    """A running server: its base URL and its process."""

    url: str
    process: subprocess.Popen


def free_port() -> int:
    """Ask the OS for a TCP port that is free on the loopback interface right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class ServiceNotReadyError(RuntimeError):
    """The service exited, or did not answer ``/ready`` with 200 in time."""


def wait_ready(url: str, process: subprocess.Popen, timeout: float) -> None:
    """Poll ``url/ready`` until the model is loaded and warmed up.

    Raises:
        ServiceNotReadyError: ``process`` exited, or ``timeout`` seconds passed (the message
            says which).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServiceNotReadyError(f"the service exited with status {process.returncode}")
        try:
            if httpx2.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.2)
    raise ServiceNotReadyError(f"the service was not ready on {url} within {timeout:.0f} s")


@contextmanager
def local_service(
    model_dir: Path, timeout: float = 120.0, **settings: str
) -> Iterator[LocalService]:
    """Serve ``model_dir`` on a free loopback port until the block ends.

    Args:
        model_dir: Exported model directory (``FACEVERIFY_MODEL_PATH``).
        timeout: Seconds to wait for ``/ready``.
        **settings: Further settings, e.g. ``DETECTION="false"`` for ``FACEVERIFY_DETECTION``.

    Yields:
        The running service; it is terminated (killed if it hangs) on exit.
    """
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="faceverify-bench-")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "FACEVERIFY_HOST": HOST,
        "FACEVERIFY_DATA_DIR": data_dir,
        "FACEVERIFY_PORT": str(port),
        "FACEVERIFY_MODEL_PATH": str(Path(model_dir).resolve()),
        "FACEVERIFY_LOG_LEVEL": "WARNING",
        **{f"FACEVERIFY_{name.upper()}": value for name, value in settings.items()},
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    service = LocalService(f"http://{HOST}:{port}", process)
    try:
        wait_ready(service.url, process, timeout)
        yield service
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(data_dir, ignore_errors=True)
