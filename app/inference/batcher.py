"""Dynamic batching: images from concurrent requests share one model call.

An asyncio task takes (pixels, future) pairs from a queue, waits at most ``max_wait_ms`` for
more once the first arrives, stacks up to ``max_batch_size`` of them and runs the model in an
executor thread, so the event loop never blocks on inference. Up to ``streams`` model calls run
at once (each on its own executor thread); a batch is collected only once a stream is free, so
images queued meanwhile fill the next batch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

BatchObserver = Callable[[int, float], None]


class BatcherClosedError(RuntimeError):
    """The batcher is stopping or stopped and takes no new work."""


@dataclass(frozen=True)
class _Item:
    pixels: np.ndarray
    future: asyncio.Future[np.ndarray]


class DynamicBatcher:
    """Group single-image inference requests into batched model calls."""

    def __init__(
        self,
        run_batch: Callable[[np.ndarray], np.ndarray],
        executor: Executor,
        *,
        max_batch_size: int,
        max_wait_ms: float,
        streams: int = 1,
        observe: BatchObserver | None = None,
    ) -> None:
        """Set up the batcher; call :meth:`start` inside the running event loop.

        Args:
            run_batch: Blocking model call, float32 [N, H, W, C] -> [N, D].
            executor: Where ``run_batch`` runs.
            max_batch_size: Most images per model call.
            max_wait_ms: Longest wait for companions once a first image is queued.
            streams: Most model calls at once (``executor`` needs that many threads).
            observe: Called with (batch size, seconds) after each model call.
        """
        self._run_batch, self._executor = run_batch, executor
        self._max_batch_size, self._max_wait = max_batch_size, max_wait_ms / 1000.0
        self._observe = observe or (lambda size, seconds: None)
        if streams < 1:
            raise ValueError(f"streams must be at least 1, got {streams}")
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue()
        self._streams = asyncio.Semaphore(streams)
        self._running: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def queue_depth(self) -> int:
        """Images waiting for a model call."""
        return self._queue.qsize()

    def start(self) -> None:
        """Start the batching task on the running loop."""
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="batcher")

    async def embed(self, pixels: np.ndarray) -> np.ndarray:
        """Embed one image (float32 [H, W, C]) as part of the next batch.

        Raises:
            BatcherClosedError: The batcher is stopping.
        """
        if self._closing or self._task is None:
            raise BatcherClosedError("the batcher is not running")
        future: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Item(pixels, future))
        return await future

    async def close(self) -> None:
        """Refuse new work, finish every queued image, then stop the task."""
        if self._task is None or self._closing:
            return
        self._closing = True
        self._queue.put_nowait(None)
        await self._task

    async def _loop(self) -> None:
        stopping = False
        while not stopping:
            await self._streams.acquire()
            first = await self._queue.get()
            if first is None:
                break
            batch, stopping = await self._collect(first)
            call = asyncio.get_running_loop().create_task(self._run_on_stream(batch))
            self._running.add(call)
            call.add_done_callback(self._running.discard)
        await asyncio.gather(*self._running)

    async def _run_on_stream(self, batch: list[_Item]) -> None:
        try:
            await self._run(batch)
        finally:
            self._streams.release()

    async def _collect(self, first: _Item) -> tuple[list[_Item], bool]:
        """Gather companions of ``first`` until full, timed out, or the stop marker."""
        batch = [first]
        deadline = time.monotonic() + self._max_wait
        while len(batch) < self._max_batch_size:
            try:
                item = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self._queue.get(), remaining)
                except TimeoutError:
                    break
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    async def _run(self, batch: list[_Item]) -> None:
        live = [item for item in batch if not item.future.cancelled()]
        if not live:
            return
        pixels = np.stack([item.pixels for item in live])
        started = time.perf_counter()
        try:
            embeddings = await asyncio.get_running_loop().run_in_executor(
                self._executor, self._run_batch, pixels
            )
        except Exception as exc:  # the model failed: every waiter gets the error
            logger.exception("model call failed for a batch of %d", len(live))
            for item in live:
                if not item.future.done():
                    item.future.set_exception(exc)
            return
        self._observe(len(live), time.perf_counter() - started)
        for item, embedding in zip(live, embeddings, strict=True):
            if not item.future.done():
                item.future.set_result(embedding)
