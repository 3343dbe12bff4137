"""How many model calls run at once, and with how many intra-op threads each.

On 2 cores, two single-threaded calls at once did 10-13% more images/s bare than one call with
two threads (float32 204 -> 226, INT8 408 -> 461 at batch 32), and through ``/embed`` under
``wrk`` they kept the cores busier while images were prepared beside them (one crop per request:
float32 74% -> 84% of bare, INT8 62% -> 75%; ``bench/embed_speed.py``): no call's threads
wait for a partner thread that the preparation took off its core.
"""

from __future__ import annotations

import os

from app.settings import Settings

AUTO_STREAMS = 2


def cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def model_streams(settings: Settings) -> int:
    """``FACEVERIFY_MODEL_STREAMS``, or with 0 (auto) two on a machine of two or more CPUs."""
    return settings.model_streams or min(AUTO_STREAMS, cpus())


def intra_op_threads(settings: Settings) -> int:
    """``FACEVERIFY_THREADS``, or with 0 the CPUs shared between the streams (0: runtime's own)."""
    if settings.threads:
        return settings.threads
    streams = model_streams(settings)
    return max(1, cpus() // streams) if streams > 1 else 0
