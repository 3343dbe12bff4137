"""Helpers of the tests that run the service as a real uvicorn process on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from fixture_paths import TINY_MODEL

from bench.local_service import ServiceNotReadyError, free_port
from bench.local_service import wait_ready as wait_until_ready

__all__ = ["ROOT", "free_port", "server_env", "start_server", "stop_server", "wait_ready"]

ROOT = Path(__file__).resolve().parents[1]


def wait_ready(
    base_url: str, process: subprocess.Popen, output: Callable[[], str], timeout: float = 90.0
) -> None:
    """Poll ``/ready`` until it answers 200 (:func:`bench.local_service.wait_ready`).

    Raises:
        AssertionError: The server exited, or was not ready within ``timeout`` seconds; the
            message holds ``output()`` (the server's log).
    """
    try:
        wait_until_ready(base_url, process, timeout)
    except ServiceNotReadyError as error:
        raise AssertionError(f"{error}:\n{output()}") from None


def server_env(port: int, **overrides: str) -> dict[str, str]:
    """The environment of ``python -m app`` on the tiny model at 127.0.0.1:``port`` (CPU),
    without the caller's FACEVERIFY_* variables, plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEVERIFY_")}
    return {
        **env,
        "FACEVERIFY_MODEL_PATH": str(TINY_MODEL),
        "FACEVERIFY_PORT": str(port),
        "FACEVERIFY_HOST": "127.0.0.1",
        "FACEVERIFY_DEVICE": "cpu",
        "PYTHONPATH": str(ROOT),
        **overrides,
    }


def start_server(
    port: int, log: Path, args: tuple[str, ...] = ("-m", "app"), **overrides: str
) -> subprocess.Popen:
    """Start ``python -m app`` (or ``python *args``; see :func:`server_env`), its output in
    ``log``; return once ``/ready`` answers 200 (the process is killed if it does not)."""
    with log.open("w") as output:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=server_env(port, **overrides),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_ready(f"http://127.0.0.1:{port}", process, log.read_text)
    except AssertionError:
        process.kill()
        raise
    return process


def stop_server(process: subprocess.Popen, timeout: float = 30.0) -> None:
    """SIGTERM (a graceful drain), then SIGKILL if it has not exited within ``timeout``."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
