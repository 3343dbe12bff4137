"""The preparation process's side: its loop, and the server's budget as it sees it.

A worker process (:class:`app.inference.preparation_workers.ProcessWorkers`) runs :func:`serve`: it
answers each (image, face_crop, reserved bytes) with the outcome and the CPU seconds it took, and
asks the server for any memory its decode needs beyond what was reserved, over the same pipe
(:class:`ServerBudget`, :class:`BudgetMessage`).
"""

from __future__ import annotations

import io
import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection

from PIL import Image

from app.errors import ApiError
from app.inference.image_input import ImageInput
from app.inference.image_preparation import ImagePreparer, PreparedImage
from app.inference.memory_budget import return_freed_memory_to_os
from app.inference.scheduler import Outcome
from app.settings import Settings
from facecore.errors import FaceCoreError
from facecore.preprocess_config import PreprocessConfig

logger = logging.getLogger(__name__)
WorkerJob = tuple[ImageInput, bool, int]  # as a worker gets it: the bytes reserved, taken over


@dataclass(frozen=True)
class BudgetMessage:
    """A preparation process's request to the server: ``reserve`` or ``release`` bytes.

    ``held``: what the holder (the decode's :class:`app.inference.memory_budget.Reservation`) holds
    before this message, so the server counts its bytes as small or large.
    """

    action: str
    size: int
    held: int
    large: bool = False


class ServerBudget:
    """The server's memory budget as a preparation process sees it, through its pipe.

    ``reserve`` waits for the server's answer (its proxy thread waits on the real budget);
    ``release`` is sent without one. Holds what :class:`app.inference.memory_budget.Reservation`
    needs.
    """

    def __init__(self, connection: Connection, capacity: int, lane: int) -> None:
        self._connection, self.capacity, self.lane = connection, capacity, lane

    def reserve(self, size: int, held: int, large: bool = False) -> None:
        """Blocking: reserve ``size`` more bytes for a holder of ``held`` (or ServerBusyError)."""
        self._connection.send(BudgetMessage("reserve", size, held, large))
        refusal = self._connection.recv()
        if refusal is not None:
            raise refusal

    def release(self, size: int, held: int, large: bool = False) -> None:
        """Give ``size`` of a holder's ``held`` bytes back to the server's budget."""
        if size > 0:
            self._connection.send(BudgetMessage("release", size, held, large))


def serve(
    connection: Connection,
    settings: Settings,
    config: PreprocessConfig,
    capacity: int,
    lane: int,
) -> None:
    """Run a preparation process: answer (image, face_crop, reserved bytes) with (outcome, CPU s).

    Until EOF. ``reserved``: bytes the server reserved for the image's decode beforehand.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle
    return_freed_memory_to_os()
    budget = ServerBudget(connection, capacity, lane)
    preparer = ImagePreparer(settings, config, budget)  # type: ignore[arg-type]
    prepare_timed(preparer, (ImageInput(BLANK_PNG), False), time.process_time)  # loads the detector
    connection.send("ready")
    while True:
        try:
            job = connection.recv()
        except EOFError:  # the server closed the pipe or exited
            return
        outcome, cpu_s = prepare_timed(preparer, job, time.process_time)
        if not isinstance(outcome, FaceCoreError | ApiError | PreparedImage):  # unexpected: log
            logger.error("unexpected error while preparing an image", exc_info=outcome)
            outcome = RuntimeError(f"{type(outcome).__name__}: {outcome}")  # picklable
        connection.send((outcome, cpu_s))


def prepare_timed(
    preparer: ImagePreparer, job: WorkerJob | tuple[ImageInput, bool], clock: Callable[[], float]
) -> Outcome[PreparedImage]:
    """Prepare one image; its outcome (an exception is returned) and the ``clock`` seconds."""
    started = clock()
    try:
        return preparer.prepare(*job), clock() - started
    except (FaceCoreError, ApiError) as exc:  # the image's answer (ApiError: memory budget)
        exc.__traceback__ = None  # its frames hold the decoded pixels
        return exc, clock() - started
    except Exception as exc:  # unexpected: the traceback is kept for the log
        return exc, clock() - started


def blank_png() -> bytes:
    """Return a 64x64 grey PNG, without a face: it warms a preparer up (loads the detector)."""
    buffer = io.BytesIO()
    Image.new("L", (64, 64), 128).save(buffer, "PNG")
    return buffer.getvalue()


BLANK_PNG = blank_png()
