"""What the hostile mix measures while a case runs (bench/hostile_mix.py): the server's RSS and
the latency of ``/health``, sampled in a process of their own and logged to a file.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx2


def monitor(pid: int, url: str, log: str, stop: Any) -> None:
    """In its own process (no GIL shared with the load): server RSS every 5 ms, /health every
    50 ms, as ``monotonic kind value`` lines in ``log``."""
    with open(log, "w", buffering=1) as out:

        def sample_rss() -> None:
            status = Path(f"/proc/{pid}/status")
            while not stop.is_set():
                for line in status.read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        out.write(f"{time.monotonic()} rss {line.split()[1]}\n")
                time.sleep(0.005)

        threading.Thread(target=sample_rss, daemon=True).start()
        with httpx2.Client(timeout=30) as client:
            while not stop.is_set():
                started = time.monotonic()
                client.get(f"{url}/health")
                out.write(f"{started} health {(time.monotonic() - started) * 1000:.2f}\n")
                time.sleep(0.05)


def window(log: Path, start: float, end: float) -> tuple[list[int], list[float]]:
    """RSS samples (kB) and /health latencies (ms) recorded between ``start`` and ``end``."""
    rss, health = [], []
    for line in log.read_text().splitlines():
        when, kind, value = line.split()
        if start <= float(when) <= end:
            (rss if kind == "rss" else health).append(float(value))
    return [int(v) for v in rss], health
