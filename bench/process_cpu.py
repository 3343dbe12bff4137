"""CPU seconds of a process, its threads or its descendants, from Linux's ``/proc``."""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far, all its threads.

    Raises:
        FileNotFoundError: ``pid`` is not a living process (or this is not Linux).
    """
    used = _stat_ticks(PROC / str(pid) / "stat")
    if used is None:
        raise FileNotFoundError(f"no process {pid} in {PROC}")
    return used / os.sysconf("SC_CLK_TCK")


def thread_cpu_seconds(pid: int) -> dict[int, float]:
    """User + system CPU seconds of each living thread of ``pid`` so far, by thread id."""
    ticks = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for task in (PROC / str(pid) / "task").iterdir():
        used = _stat_ticks(task / "stat")
        if used is not None:  # None: the thread ended meanwhile
            seconds[int(task.name)] = used / ticks
    return seconds


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and of every living descendant.

    Raises:
        FileNotFoundError: ``pid`` is not a living process (or this is not Linux).
    """
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(_stat_ticks(PROC / str(each) / "stat") or 0 for each in _tree(pid)) / ticks


def _stat_ticks(stat_file: Path) -> int | None:
    """utime + stime of a process's or a thread's ``stat``, in clock ticks (None once it exited)."""
    try:
        stat = stat_file.read_text()
    except OSError:
        return None
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
