"""CPU seconds of a process and its descendants, from Linux's ``/proc`` (a benchmark's meter)."""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and of every living descendant.

    Raises:
        FileNotFoundError: ``pid`` is not a living process (or this is not Linux).
    """
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(_own_ticks(each) for each in _tree(pid)) / ticks


def _own_ticks(pid: int) -> int:
    """utime + stime of one process, in clock ticks (0 if it has just exited)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except FileNotFoundError:
        return 0
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state is fields[0]
    return int(fields[11]) + int(fields[12])


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants, from each thread's ``children`` list."""
    if not (PROC / str(pid)).exists():
        raise FileNotFoundError(f"no process {pid} in {PROC}")
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        for task in (PROC / str(current) / "task").glob("*/children"):
            try:
                pending.extend(int(child) for child in task.read_text().split())
            except FileNotFoundError:
                continue
    return found
