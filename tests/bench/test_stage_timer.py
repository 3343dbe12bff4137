"""The stage timer's self times and the process-tree CPU meter."""

from __future__ import annotations

import os
import time

import pytest

from bench.process_cpu import tree_cpu_seconds
from bench.stage_timer import StageTimer


def _spin(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_an_inner_stage_is_not_counted_in_its_caller():
    timer = StageTimer()
    inner = timer.wrap("inner", _spin)
    outer = timer.wrap("outer", lambda: (_spin(0.02), inner(0.05)))
    outer()
    assert timer.calls == {"inner": 1, "outer": 1}
    assert timer.cpu["inner"] >= 0.05
    assert 0.02 <= timer.cpu["outer"] < 0.04
    rows = timer.table(photos=2)
    assert [row["stage"] for row in rows] == ["inner", "outer"]
    assert sum(row["cpu_share"] for row in rows) == pytest.approx(1.0)
    assert rows[0]["cpu_ms_per_photo"] == pytest.approx(1000 * timer.cpu["inner"] / 2)


def test_a_stage_name_may_come_from_the_call():
    timer = StageTimer()
    timer.wrap(lambda stack, value: f"size {value}", lambda value: value)(128)
    assert timer.calls == {"size 128": 1}


def test_tree_cpu_seconds_counts_this_process():
    before = tree_cpu_seconds(os.getpid())
    _spin(0.1)
    assert tree_cpu_seconds(os.getpid()) - before >= 0.05


def test_tree_cpu_seconds_refuses_a_missing_process():
    with pytest.raises(FileNotFoundError):
        tree_cpu_seconds(2**22 + 12345)
