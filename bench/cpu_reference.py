"""The CPU's own yardstick, measured in the same run as a benchmark."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np


def timed(function: Callable[[], object]) -> float:
    """Return the wall time of one call in seconds."""
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def matmul_gflops(size: int = 2048, repeats: int = 5) -> float:
    """Best-of-``repeats`` float32 numpy matmul rate in GFLOP/s.

    Args:
        size: Side of the square matrices.
        repeats: Timed multiplications; the fastest counts.

    Returns:
        Billions of floating-point operations per second (2 n^3 per product).
    """
    rng = np.random.default_rng(0)
    a, b = (rng.random((size, size), dtype=np.float32) for _ in range(2))
    best = min(timed(lambda: a @ b) for _ in range(repeats))
    return 2 * size**3 / best / 1e9
