"""The readiness poll that benchmarks and end-to-end tests share (bench/local_service.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.local_service import HOST, ServiceNotReadyError, free_port, wait_ready


def test_wait_ready_names_the_exit_status_of_a_service_that_died() -> None:
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    process.wait(timeout=30)
    with pytest.raises(ServiceNotReadyError, match="exited with status 3"):
        wait_ready(f"http://{HOST}:{free_port()}", process, timeout=10)


def test_wait_ready_gives_up_when_nothing_answers_in_time() -> None:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    url = f"http://{HOST}:{free_port()}"
    try:
        with pytest.raises(ServiceNotReadyError, match=f"not ready on {url} within 1 s"):
            wait_ready(url, process, timeout=1)
    finally:
        process.kill()
        process.wait()
