"""Self time per stage of nested calls: wrap functions, read wall and CPU seconds per stage.

CPU is the whole process's (a model's own threads count): run the stages in one thread.
Each wrapped call is a stage; time spent in a wrapped call inside another is the inner
stage's, not the outer's, so the stages' self times add up to the whole run.
"""

from __future__ import annotations

import functools
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any


class StageTimer:
    """Self wall and CPU (whole process) seconds and call counts per stage name."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._stack: list[str] = []

    def wrap(self, name: str | Callable[..., str], function: Callable[..., Any]) -> Callable:
        """``function`` timed as stage ``name`` (a callable: the name from its arguments)."""

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            label = name(self._stack, *args) if callable(name) else name
            return self.run(label, function, *args, **kwargs)

        return timed

    def run(self, name: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call ``function`` as stage ``name``; its self time is added to the stage."""
        self._stack.append(name)
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            self._stack.pop()
            self.wall[name] += wall
            self.cpu[name] += cpu
            self.calls[name] += 1
            if self._stack:  # the caller's self time excludes this call
                self.wall[self._stack[-1]] -= wall
                self.cpu[self._stack[-1]] -= cpu

    def table(self, photos: int) -> list[dict]:
        """One row per stage, most CPU first: ms per photo (wall, CPU), share of CPU, calls."""
        total = sum(self.cpu.values()) or 1.0
        rows = [
            {
                "stage": name,
                "wall_ms_per_photo": 1000 * self.wall[name] / photos,
                "cpu_ms_per_photo": 1000 * self.cpu[name] / photos,
                "cpu_share": self.cpu[name] / total,
                "calls": self.calls[name],
            }
            for name in self.cpu
        ]
        return sorted(rows, key=lambda row: -row["cpu_ms_per_photo"])
