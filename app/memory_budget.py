"""One memory budget per process, shared by request bodies and decoded images.

Bodies reserve their bytes as they arrive (:mod:`app.body_limits`), the JSON reader what a
long string costs while it is parsed (:mod:`app.json_reader`), and each image decode what its
header says the decode will hold (:mod:`app.preparation`). A reservation that does not fit
waits up to ``wait_s`` for others to be released, then fails with 503 ``server_busy``.
Reservations are taken from the event loop (async) and from worker threads (blocking).
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import threading
import time

from app.errors import ServerBusyError

logger = logging.getLogger(__name__)

MIB = 1024 * 1024
# glibc: allocations from this size on are mmapped and go back to the OS when freed (a fixed
# threshold also stops glibc from raising it after each large free, which kept freed image
# buffers in the heap: RSS stayed at 1.7 GB after a burst).
MMAP_THRESHOLD_BYTES = 1 * MIB
_M_MMAP_THRESHOLD = -3


class MemoryBudget:
    """Bytes that all requests of a process may hold at once (thread-safe)."""

    def __init__(self, capacity: int, wait_s: float) -> None:
        self.capacity, self.wait_s = capacity, wait_s
        self._in_use = 0
        self._lock = threading.Lock()
        self._freed = threading.Condition(self._lock)
        self._async_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    @property
    def in_use(self) -> int:
        """Bytes reserved now."""
        return self._in_use

    def try_reserve(self, size: int) -> bool:
        """Reserve ``size`` bytes if they fit now; returns whether they did."""
        with self._lock:
            return self._take(size)

    def reserve(self, size: int) -> None:
        """Blocking: reserve ``size`` bytes, waiting up to ``wait_s`` (worker threads only).

        Raises:
            ServerBusyError: They did not fit within the wait.
        """
        deadline = time.monotonic() + self.wait_s
        with self._lock:
            while not self._take(size):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._busy(size)
                self._freed.wait(left)

    async def reserve_async(self, size: int) -> None:
        """Reserve ``size`` bytes on the event loop, waiting up to ``wait_s``.

        Raises:
            ServerBusyError: They did not fit within the wait.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_s
        while True:
            with self._lock:
                if self._take(size):
                    return
                freed = asyncio.Event()
                self._async_waiters.append((loop, freed))
            try:
                async with asyncio.timeout_at(deadline):
                    await freed.wait()
            except TimeoutError:
                raise self._busy(size) from None

    def release(self, size: int) -> None:
        """Give ``size`` bytes back and wake every waiter."""
        if size <= 0:
            return
        with self._lock:
            self._in_use -= size
            waiters, self._async_waiters = self._async_waiters, []
            self._freed.notify_all()
        for loop, freed in waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(freed.set)

    def _take(self, size: int) -> bool:
        if self._in_use + size > self.capacity:
            return False
        self._in_use += size
        return True

    def _busy(self, size: int) -> ServerBusyError:
        return ServerBusyError(
            f"the server's memory budget ({self.capacity} bytes, FACEVERIFY_MEMORY_BUDGET_BYTES) "
            f"had no room for {size} more bytes within {self.wait_s:g} s; retry shortly"
        )


class Reservation:
    """Bytes held from a budget by one holder: grown as needed, shrunk, released at the end."""

    def __init__(self, budget: MemoryBudget) -> None:
        self.budget, self.held = budget, 0

    async def grow_async(self, size: int) -> None:
        """Hold ``size`` more bytes (event loop; see :meth:`MemoryBudget.reserve_async`)."""
        if size > 0:
            await self.budget.reserve_async(size)
            self.held += size

    def grow(self, size: int) -> None:
        """Hold ``size`` more bytes (worker thread; see :meth:`MemoryBudget.reserve`)."""
        if size > 0:
            self.budget.reserve(size)
            self.held += size

    def shrink_to(self, size: int) -> None:
        """Give back all but ``size`` bytes (never grows)."""
        surplus = self.held - max(0, size)
        if surplus > 0:
            self.held -= surplus
            self.budget.release(surplus)

    def release(self) -> None:
        """Give everything back (idempotent)."""
        self.shrink_to(0)


def return_freed_memory_to_os() -> None:
    """Make glibc give large freed buffers back to the OS at once (no-op elsewhere)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    except (OSError, AttributeError, TypeError):
        logger.debug("mallopt is not available; freed image memory may stay mapped")
