"""What the hostile mix measures while a case runs (bench/hostile_mix.py): the server's RSS
(its preparation processes included), the latency of ``/health`` and that of a normal client's
``/verify`` (two face photos), sampled in a process of their own and logged to a file.
"""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import Any

import httpx2

from bench.hostile_payloads import FACE


def tree_rss_kb(pid: int) -> int:
    """Resident memory of ``pid`` and its child processes (preparation workers), kB."""
    pids, total = [pid], 0
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):  # the thread ended meanwhile
            pids += [int(child) for child in task.read_text().split()]
    for each in pids:
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:  # exited meanwhile
            pass
    return total


def monitor(pid: int, url: str, log: str, stop: Any) -> None:
    """In its own process (no GIL shared with the load): server RSS every 5 ms, /health every
    50 ms, a normal /verify every 200 ms, as ``monotonic kind value`` lines in ``log``."""
    with open(log, "w", buffering=1) as out:

        def sample_rss() -> None:
            while not stop.is_set():
                out.write(f"{time.monotonic()} rss {tree_rss_kb(pid)}\n")
                time.sleep(0.005)

        def probe(kind: str, pause: float, call: Any) -> None:
            with httpx2.Client(timeout=120) as client:
                while not stop.is_set():
                    started = time.monotonic()
                    status = call(client).status_code
                    took = (time.monotonic() - started) * 1000
                    out.write(f"{started} {kind} {took:.2f}\n")
                    if status >= 500:
                        out.write(f"{started} {kind}_5xx {status}\n")
                    time.sleep(pause)

        files = {"image1": ("a.jpg", FACE), "image2": ("b.jpg", FACE)}
        verify = (lambda c: c.post(f"{url}/verify", files=files),)
        threading.Thread(target=sample_rss, daemon=True).start()
        threading.Thread(target=probe, args=("verify", 0.2, *verify), daemon=True).start()
        probe("health", 0.05, lambda c: c.get(f"{url}/health"))


def window(log: Path, start: float, end: float) -> dict[str, list[float]]:
    """The samples recorded between ``start`` and ``end`` by kind: ``rss`` (kB), ``health``
    and ``verify`` (ms), ``verify_5xx`` / ``health_5xx`` (statuses)."""
    samples: dict[str, list[float]] = {"rss": [], "health": [], "verify": []}
    for line in log.read_text().splitlines():
        when, kind, value = line.split()
        if start <= float(when) <= end:
            samples.setdefault(kind, []).append(float(value))
    return samples
