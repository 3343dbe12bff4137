"""Several model calls at once: the batcher's streams and the thread split they get."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from app.inference import model_streams as streams_module
from app.inference.batcher import DynamicBatcher
from app.inference.model_streams import intra_op_threads, model_streams
from app.settings import Settings


def run_two_batches(streams: int) -> bool:
    """Whether two batches ran at the same time: each call waits for a partner call."""
    partner = threading.Barrier(2, timeout=2)

    def run_batch(pixels: np.ndarray) -> np.ndarray:
        with contextlib.suppress(threading.BrokenBarrierError):  # alone: times out
            partner.wait()
        return pixels.reshape(len(pixels), -1)

    async def scenario() -> None:
        with ThreadPoolExecutor(streams) as executor:
            batcher = DynamicBatcher(
                run_batch, executor, max_batch_size=1, max_wait_ms=0, streams=streams
            )
            batcher.start()
            images = [np.full((1, 1, 1), i, np.float32) for i in range(2)]
            results = await asyncio.gather(*(batcher.embed(image) for image in images))
            assert [float(result[0]) for result in results] == [0.0, 1.0]
            await batcher.close()

    asyncio.run(scenario())
    return not partner.broken


def test_two_streams_run_two_model_calls_at_once() -> None:
    assert run_two_batches(streams=2)


def test_one_stream_runs_one_model_call_at_a_time() -> None:
    assert not run_two_batches(streams=1)


def test_a_batcher_needs_a_stream() -> None:
    with pytest.raises(ValueError, match="streams"):
        DynamicBatcher(
            lambda pixels: pixels, ThreadPoolExecutor(1), max_batch_size=1, max_wait_ms=0, streams=0
        )


@pytest.mark.parametrize(
    ("cpus", "streams", "threads", "expected"),
    [(2, 0, 0, (2, 1)), (8, 0, 0, (2, 4)), (1, 0, 0, (1, 0)), (8, 1, 0, (1, 0)), (8, 4, 3, (4, 3))],
)
def test_auto_streams_share_the_cpus(
    monkeypatch: pytest.MonkeyPatch, cpus: int, streams: int, threads: int, expected: tuple
) -> None:
    monkeypatch.setattr(streams_module, "cpus", lambda: cpus)
    settings = Settings(model_streams=streams, threads=threads)
    assert (model_streams(settings), intra_op_threads(settings)) == expected
