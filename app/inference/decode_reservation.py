"""A decode's share of the memory budget: priced from the header, reserved, handed to a worker.

Memory, in this order: **price, reserve, then a worker.** On the event loop the server prices
the image's decode from its header (:func:`facecore.decode.decode_peak`,
the pricing the decode itself uses) and reserves that much of the process's memory budget
(:mod:`app.inference.memory_budget`) for it (:func:`reserve_decode`: 413 if it could never fit, 503
``server_busy`` if no room comes within the wait); only then does the image join the workers'
queue (:mod:`app.inference.scheduler`), so a decode waiting for memory never holds a worker. The
worker takes the reserved bytes over (:meth:`DecodeHold.take`) as already held by its decode's
holder (:class:`DecodeReservation`): the decode asks only for any difference, keeps the decoded
pixels' share until the image is prepared, and gives it back then. Bytes never taken over (the
job failed or was cancelled before a worker took it) are given back by the server.
"""

from __future__ import annotations

import threading
from typing import Any

from app.errors import ImageTooLargeError
from app.inference.image_input import ImageInput
from app.inference.memory_budget import SMALL_HOLDER_BYTES, MemoryBudget, Reservation, holder_limit
from app.settings import MIB, Settings
from facecore.decode import decode_peak
from facecore.errors import FaceCoreError

# An image of 4096+ px is decoded reduced, its longest side staying >= this: plenty for a
# 112-px face crop, and a 40 MP upload costs ~40 MB instead of ~400 MB (bench/hostile_mix.py).
DECODE_REDUCE_TO = 2048
# A decode priced up to this is prepared in the server's own thread; a larger one, in process
# mode, in a worker process holding a copy of the encoded bytes (reserved with the decode).
INLINE_DECODE_BYTES = SMALL_HOLDER_BYTES


class DecodeReservation:
    """One decode's share of the memory budget (:class:`facecore.decode_memory.DecodeMemory`).

    A decode may take what its request's images (``request_bytes``) leave of the budget, less
    the lane for small holders where it or they are large (:func:`holder_limit`); one that
    costs more is refused (413) at once: it could never fit. One that does not fit now
    waits for room (``FACEVERIFY_MEMORY_WAIT_S``, then 503 server_busy).

    ``reserved``: bytes already reserved for the decode (by the server, before it took a
    worker): its holder holds them from the start, and :meth:`grow` asks only for more.
    """

    def __init__(self, budget: MemoryBudget, request_bytes: int, reserved: int = 0) -> None:
        self.reservation, self.request_bytes = Reservation(budget), request_bytes
        self.reservation.held = self.prepaid = reserved
        self.cap = holder_limit(budget.capacity, budget.lane, request_bytes)

    def grow(self, size: int) -> None:
        """Reserve ``size`` bytes for the decode (less those reserved already), or refuse it."""
        self.check(size)
        covered = min(size, self.prepaid)
        self.prepaid -= covered
        self.reservation.grow(size - covered)

    async def grow_async(self, size: int) -> None:
        """Reserve ``size`` bytes for the decode on the event loop, or refuse it."""
        self.check(size)
        await self.reservation.grow_async(size)

    def check(self, size: int) -> None:
        """Refuse (413) a decode of ``size`` bytes that could never fit."""
        if size > self.cap:
            raise ImageTooLargeError(
                f"decoding this image would take {size // MIB} MiB; the limit is "
                f"{self.cap // MIB} MiB (FACEVERIFY_MEMORY_BUDGET_BYTES less the small "
                f"requests' lane of {self.reservation.budget.lane // MIB} MiB and the "
                f"{self.request_bytes // MIB} MiB of the request's images); send fewer pixels, "
                "or a JPEG"
            )

    def shrink_to(self, size: int) -> None:
        """Keep only the decoded pixels' share."""
        self.reservation.shrink_to(size)


class DecodeHold:
    """Bytes the server reserved for one image's decode before it took a worker (thread-safe).

    The worker takes them over (:meth:`take`) when it starts the image; the server calls
    :meth:`release` when the job is over, which gives back only what was never taken over.
    """

    def __init__(self, reservation: Reservation) -> None:
        self._reservation, self._lock = reservation, threading.Lock()

    @property
    def reserved(self) -> int:
        """Bytes reserved and not taken over yet."""
        return self._reservation.held

    def take(self) -> int:
        """Hand the reserved bytes to the worker's decode (its holder gives them back)."""
        with self._lock:
            held, self._reservation.held = self._reservation.held, 0
        return held

    def release(self) -> None:
        """Give back the bytes no worker took over (idempotent)."""
        with self._lock:
            self._reservation.release()


def decode_limits(settings: Settings) -> dict[str, Any]:
    """Return the decode limits of the service, as :func:`decode_image_reduced` takes them."""
    return {
        "max_bytes": settings.max_image_bytes,
        "max_pixels": settings.max_pixels,
        "max_aspect_ratio": settings.max_aspect_ratio,
        "min_side": settings.min_image_side,
        "reduce_to": DECODE_REDUCE_TO,
    }


async def reserve_decode(settings: Settings, budget: MemoryBudget, image: ImageInput) -> DecodeHold:
    """On the event loop: price the image's decode and wait for that much of the budget.

    An image its header refuses reserves nothing: its worker's decode refuses it as before
    (image errors come from one place), at the cost of a header read.

    Raises:
        ImageTooLargeError: The decode could never fit (413).
        ServerBusyError: No room came within the budget's wait (503).
    """
    memory = DecodeReservation(budget, image.request_bytes)
    try:
        peak = decode_peak(image.data, **decode_limits(settings))
    except FaceCoreError:
        peak = 0
    copy = len(image.data) if peak > INLINE_DECODE_BYTES else 0  # a worker process's copy
    await memory.grow_async(peak + copy)
    return DecodeHold(memory.reservation)
