"""Where image preparation runs: worker processes (the default) or threads of the server.

Pillow holds the interpreter lock through parts of a large decode (a 40 MP WebP's frame
decode, its alpha compositing, its array copy): run in threads, two such decodes starved the
event loop for up to a second at a time, and ``/health`` took 780 ms (issue 41; measured
with py-spy and a main-thread gap probe: the same decodes in processes left gaps under 80 ms).
In ``process`` mode each worker is a process of its own, fed one image at a time through a
pipe by a proxy thread of the server, so decoding never holds the server's lock; ``thread``
mode (``FACEVERIFY_PREPROCESS_MODE=thread``) runs :class:`ImagePreparer` in the server as
before. Either way a job returns its outcome and the CPU seconds it took (the request's
budget, :mod:`app.inference.scheduler`). In a process, each decode's reservation of the server's
memory budget (:mod:`app.inference.memory_budget`) is asked of the server over the same pipe
(:class:`ServerBudget`), with what the decode's holder holds already, so the one budget and its
lane for small holders bound decodes in processes as in threads.

The order is **price, reserve, then a worker**: a job reaches ``run`` with its decode's memory
already reserved by the server (:func:`app.inference.image_preparation.reserve_decode`, on the event
loop), so no worker ever waits for memory room for a decode it has not started. ``run`` takes those
bytes over (:meth:`app.inference.image_preparation.DecodeHold.take`) and passes their count with the
image; the decode counts them as held and asks (over the pipe, in a process) only for any
difference. In a process, the proxy thread counts them as the process's and gives back whatever it
has not released when the outcome comes (or the process dies).

In ``process`` mode an ordinary image, whose decode is priced at most ``INLINE_DECODE_BYTES``
(32 MiB, a small holder of the budget: a photo of about a megapixel), is prepared in the proxy
thread itself: the hop to a process and back cost a single client 2-4 ms a photo (/embed 17%
slower than in threads), while such a decode holds the interpreter lock only briefly. Larger
images, whose decodes are what starved the event loop, always go to a process.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

from app.errors import ModelNotReadyError, ServerBusyError
from app.inference.decode_reservation import INLINE_DECODE_BYTES, DecodeHold
from app.inference.image_input import ImageInput
from app.inference.image_preparation import ImagePreparer, PreparedImage
from app.inference.memory_budget import MemoryBudget
from app.inference.preparation_process import BLANK_PNG, BudgetMessage, prepare_timed, serve
from app.inference.scheduler import Outcome
from app.settings import Settings
from facecore.preprocess_config import PreprocessConfig

logger = logging.getLogger(__name__)
# The image, whether it is a ready-made face crop, and its decode's memory reserved by the server.
PreparationJob = tuple[ImageInput, bool, DecodeHold | None]


class WorkerLostError(RuntimeError):
    """A preparation process died while preparing an image (killed, out of memory)."""


def prepare_here(preparer: ImagePreparer, job: PreparationJob) -> Outcome[PreparedImage]:
    """Prepare a job in the calling thread; its outcome and the thread's CPU seconds.

    The decode's holder takes the bytes the server reserved over and gives them back.
    """
    image, face_crop, hold = job
    reserved = hold.take() if hold is not None else 0
    return prepare_timed(preparer, (image, face_crop, reserved), time.thread_time)


class ThreadWorkers:
    """Preparation in ``workers`` threads of the server."""

    def __init__(
        self, settings: Settings, config: PreprocessConfig, workers: int, budget: MemoryBudget
    ) -> None:
        self._preparer = ImagePreparer(settings, config, budget)
        self.count = workers
        self.executor = ThreadPoolExecutor(workers, thread_name_prefix="preprocess")

    def start(self) -> None:
        """Nothing to start: the threads start with their first job."""

    def run(self, job: PreparationJob) -> Outcome[PreparedImage]:
        """Blocking, in a worker thread: prepare one image; its outcome and CPU seconds."""
        return prepare_here(self._preparer, job)

    def close(self) -> None:
        """Stop taking jobs; a decode still running is not waited for."""
        self.executor.shutdown(wait=False, cancel_futures=True)


class ProcessWorkers:
    """Preparation in ``workers`` processes, each driven by one proxy thread of the server."""

    def __init__(
        self, settings: Settings, config: PreprocessConfig, workers: int, budget: MemoryBudget
    ) -> None:
        self._settings, self._config, self._budget = settings, config, budget
        self._context = multiprocessing.get_context("spawn")  # no fork of a threaded server
        self._idle: queue.SimpleQueue[tuple[Any, Connection]] = queue.SimpleQueue()
        self._processes: list[Any] = []
        self._lock = threading.Lock()
        self.count, self._closed = workers, False
        self._inline = ImagePreparer(settings, config, budget)  # ordinary images, in the proxy
        self.executor = ThreadPoolExecutor(workers, thread_name_prefix="preprocess-proxy")

    def start(self) -> None:
        """Blocking: start the processes and wait until each has its detector loaded."""
        started = [self._spawn() for _ in range(self.count)]
        prepare_timed(self._inline, (ImageInput(BLANK_PNG), False), time.thread_time)
        for process, connection in started:
            self._answer_budget(connection)  # "ready" after its warm-up, or EOFError
            self._idle.put((process, connection))

    def run(self, job: PreparationJob) -> Outcome[PreparedImage]:
        """Blocking, in a proxy thread: prepare an ordinary image here, others in a process."""
        image, face_crop, hold = job
        if hold is not None and hold.reserved <= INLINE_DECODE_BYTES:
            return prepare_here(self._inline, job)
        process, connection = self._idle.get()
        reserved = hold.take() if hold is not None else 0  # the process's holder's from now on
        try:
            try:
                connection.send((image, face_crop, reserved))
            except BaseException:
                self._budget.release(reserved, reserved)
                raise
            outcome = self._answer_budget(connection, reserved)
        except (EOFError, OSError):
            if self._closed:
                return ModelNotReadyError("the service is shutting down"), 0.0
            logger.error("a preparation process died (exit %s); restarting it", process.exitcode)
            process, connection = self._replace(process)
            return WorkerLostError("the image's preparation process died"), 0.0
        finally:
            self._idle.put((process, connection))
        return outcome

    def _answer_budget(self, connection: Connection, held: int = 0) -> Outcome[PreparedImage]:
        """Serve the process's budget messages until its outcome comes; release what it held.

        A process prepares one image at a time, so what it holds is one holder's: ``held``
        bytes reserved for it by the server beforehand, and what it reserves here.
        """
        try:
            while isinstance(message := connection.recv(), BudgetMessage):
                if message.action == "release":
                    self._budget.release(message.size, message.held, message.large)
                    held -= message.size
                    continue
                try:
                    self._budget.reserve(message.size, message.held, message.large)
                except ServerBusyError as busy:
                    connection.send(busy)
                    continue
                held += message.size
                connection.send(None)
            return message
        finally:
            self._budget.release(held, held)  # a process that died holding a reservation

    def close(self) -> None:
        """Stop the processes at once (a decode still running is not waited for)."""
        self._closed = True
        self.executor.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            for process in self._processes:
                process.kill()
                process.join(timeout=5)
            self._processes.clear()

    def _spawn(self) -> tuple[Any, Connection]:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(
            target=serve,
            args=(theirs, self._settings, self._config, self._budget.capacity, self._budget.lane),
            daemon=True,
        )
        with self._lock:
            process.start()
            self._processes.append(process)
        theirs.close()
        return process, ours

    def _replace(self, dead: Any) -> tuple[Any, Connection]:
        with self._lock:
            if dead in self._processes:
                self._processes.remove(dead)
        process, connection = self._spawn()
        self._answer_budget(connection)  # "ready"
        return process, connection


Workers = ProcessWorkers | ThreadWorkers


def preparation_workers(
    settings: Settings, config: PreprocessConfig, budget: MemoryBudget
) -> Workers:
    """Return the workers the settings ask for: one more than the CPUs unless set (one kept)."""
    count = settings.preprocess_workers or (os.cpu_count() or 1) + 1
    kind = ProcessWorkers if settings.preprocess_mode == "process" else ThreadWorkers
    return kind(settings, config, count, budget)
