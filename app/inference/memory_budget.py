"""One memory budget per process, shared by request bodies and decoded images.

Bodies reserve their bytes as they arrive (:mod:`app.http.body_limits`), the JSON reader what a
long string costs while it is parsed (:mod:`app.http.json_reader`), and each image decode what its
header says the decode will hold (:mod:`app.inference.image_preparation`). A reservation that does
not fit waits up to ``wait_s`` for others to be released, then fails with 503 ``server_busy``.
Reservations are taken from the event loop (async) and from worker threads (blocking).

A lane is kept for small holders (issue 41: no client starves the others). A holder (one
:class:`Reservation`) holding at most ``SMALL_HOLDER_BYTES`` (32 MiB: an ordinary photo's decode
or body) is small; every byte of a holder over it is large, and all large bytes together may
take at most ``capacity - lane``. Large bodies and huge decodes therefore never take the last
``lane`` bytes (``Settings.memory_lane_bytes``: 64 MiB by default), and an ordinary request finds
room while they fill the rest. A holder's bytes move to the large pool when it crosses the
threshold and back when it shrinks under it. A body whose length (declared, or its route's
limit without one) is over the threshold is announced large and counted so from its first
byte, until it is parsed and shrunk to its images' bytes: else eight bodies that each stop just
under the threshold could fill the lane. Bytes reserved without a holder (``held`` None)
are bounded by the capacity alone. The lane is inside the budget: all bytes together stay
within ``capacity``.
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
SMALL_HOLDER_BYTES = 32 * MIB  # a holder up to this size may use the small holders' lane
# glibc: allocations from this size on are mmapped and go back to the OS when freed (a fixed
# threshold also stops glibc from raising it after each large free, which kept freed image
# buffers in the heap: RSS stayed at 1.7 GB after a burst).
MMAP_THRESHOLD_BYTES = 1 * MIB
_M_MMAP_THRESHOLD = -3


def large_part(held: int) -> int:
    """Bytes of a holder holding ``held`` that count as large."""
    return held if held > SMALL_HOLDER_BYTES else 0


def holder_limit(capacity: int, lane: int, beside: int) -> int:
    """Return the most one holder can ever hold while another holder keeps ``beside`` bytes."""
    room = capacity - beside
    large_room = capacity - lane - large_part(beside)
    return min(room, max(min(SMALL_HOLDER_BYTES, room), large_room))


class MemoryBudget:
    """Bytes that all requests of a process may hold at once (thread-safe).

    ``held`` arguments are what the holder (:class:`Reservation`) holds before the call; None
    is a reservation of no holder, never counted as large. ``large``: the holder is counted as
    large whatever it holds (announced large, until :meth:`settle`).
    """

    def __init__(self, capacity: int, wait_s: float, lane: int = 0) -> None:
        self.capacity, self.wait_s, self.lane = capacity, wait_s, lane
        self._in_use = self._large = 0
        self._lock = threading.Lock()
        self._freed = threading.Condition(self._lock)
        self._async_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    @property
    def in_use(self) -> int:
        """Bytes reserved now."""
        return self._in_use

    @property
    def large_in_use(self) -> int:
        """Bytes reserved now by holders over ``SMALL_HOLDER_BYTES``."""
        return self._large

    def try_reserve(self, size: int, held: int | None = None, large: bool = False) -> bool:
        """Reserve ``size`` bytes if they fit now; returns whether they did."""
        with self._lock:
            return self._take(size, held, large)

    def reserve(self, size: int, held: int | None = None, large: bool = False) -> None:
        """Blocking: reserve ``size`` bytes, waiting up to ``wait_s`` (worker threads only).

        Raises:
            ServerBusyError: They did not fit within the wait.
        """
        deadline = time.monotonic() + self.wait_s
        with self._lock:
            while not self._take(size, held, large):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._busy(size)
                self._freed.wait(left)

    async def reserve_async(self, size: int, held: int | None = None, large: bool = False) -> None:
        """Reserve ``size`` bytes on the event loop, waiting up to ``wait_s``.

        Raises:
            ServerBusyError: They did not fit within the wait.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_s
        while True:
            with self._lock:
                if self._take(size, held, large):
                    return
                freed = asyncio.Event()
                self._async_waiters.append((loop, freed))
            try:
                async with asyncio.timeout_at(deadline):
                    await freed.wait()
            except TimeoutError:
                raise self._busy(size) from None

    def release(self, size: int, held: int | None = None, large: bool = False) -> None:
        """Give ``size`` of the holder's ``held`` bytes back and wake every waiter."""
        if size <= 0:
            return
        with self._lock:
            self._in_use -= size
            self._large += self._large_delta(held, -size, large)
        self._wake()

    def settle(self, held: int) -> None:
        """Count a holder announced large by what it holds (``held``) from now on."""
        with self._lock:
            self._large -= held - large_part(held)
        self._wake()

    def _wake(self) -> None:
        with self._lock:
            waiters, self._async_waiters = self._async_waiters, []
            self._freed.notify_all()
        for loop, freed in waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(freed.set)

    def _take(self, size: int, held: int | None, announced: bool) -> bool:
        large = self._large_delta(held, size, announced)
        if self._in_use + size > self.capacity:
            return False
        if large > 0 and self._large + large > self.capacity - self.lane:
            return False
        self._in_use += size
        self._large += large
        return True

    @staticmethod
    def _large_delta(held: int | None, change: int, announced: bool) -> int:
        if held is None:  # no holder: bounded by the capacity alone
            return 0
        if announced:
            return change
        return large_part(held + change) - large_part(held)

    def _busy(self, size: int) -> ServerBusyError:
        return ServerBusyError(
            f"the server's memory budget ({self.capacity} bytes, FACEVERIFY_MEMORY_BUDGET_BYTES) "
            f"had no room for {size} more bytes within {self.wait_s:g} s; retry shortly"
        )


class Reservation:
    """Bytes held from a budget by one holder: grown as needed, shrunk, released at the end.

    Each call tells the budget what the holder holds, so its bytes count as small or large;
    ``large``: counted as large from the first byte until the first shrink (a large body).
    """

    def __init__(self, budget: MemoryBudget, large: bool = False) -> None:
        self.budget, self.held, self.large = budget, 0, large

    async def grow_async(self, size: int) -> None:
        """Hold ``size`` more bytes (event loop; see :meth:`MemoryBudget.reserve_async`)."""
        if size > 0:
            await self.budget.reserve_async(size, self.held, self.large)
            self.held += size

    def grow(self, size: int) -> None:
        """Hold ``size`` more bytes (worker thread; see :meth:`MemoryBudget.reserve`)."""
        if size > 0:
            self.budget.reserve(size, self.held, self.large)
            self.held += size

    def shrink_to(self, size: int) -> None:
        """Give back all but ``size`` bytes (never grows)."""
        surplus = self.held - max(0, size)
        if surplus > 0:
            held, self.held = self.held, self.held - surplus
            self.budget.release(surplus, held, self.large)
        if self.large:  # parsed: counted by what it holds from now on
            self.large = False
            self.budget.settle(self.held)

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
