"""Fair sharing of the image-preparation workers between requests, and each request's budget.

A FIFO pool would start every image of a 16-image request before the first image of the next
request: a slow upload would hold every worker and everyone behind it would wait (issue 41:
a normal ``/verify`` took 33 s behind 16 large WebPs). Instead each request has its own queue
of image jobs, and whenever a worker is free the scheduler gives it the next job of the
request that has the **fewest images being prepared now**, ties going to the request served
**least recently** (round robin); and the last free worker is kept for a request that has
no image being prepared (with more than one worker). So a request alone uses every worker
but one (the service starts one more worker than CPUs), a request arriving behind a long one
starts at once on the kept worker, and then they take turns, whatever the other sent; no
request waits for more than one turn of the others.

Each request may also use ``budget_s`` seconds of preparation CPU time (all its images
together, measured in the worker). Once spent, its images not yet started fail with
``preparation_budget_exceeded`` (a running image is finished: the overshoot is at most one
image per worker, each bounded by the image limits).

Jobs come here priced and with their memory reserved: the order is **price, reserve, then a
worker**. Before an image is submitted, the service prices its decode from the header and waits
on the event loop for that much of the memory budget
(:func:`app.inference.image_preparation.reserve_decode`); only then does the job join its request's
queue. A decode waiting for memory room therefore never holds a worker, and an ordinary image (in
the budget's lane for small holders) is not kept waiting for a worker by large decodes that cannot
start yet.

Everything here runs on the event loop; only ``run`` runs in the executor.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from app.errors import ModelNotReadyError, PreparationBudgetError

T = TypeVar("T")
Job = TypeVar("Job")
# A job's outcome as the worker returns it: the result or the exception, and its CPU seconds.
Outcome = tuple[T | Exception, float]


@dataclass(eq=False)
class Ticket(Generic[Job, T]):
    """One request's place in the scheduler: its queued jobs, running count and CPU spent."""

    budget_s: float
    turn: int
    queue: deque[tuple[Job, asyncio.Future[T]]] = field(default_factory=deque)
    running: int = 0
    cpu_s: float = 0.0


class FairScheduler(Generic[Job, T]):
    """Run jobs on ``workers`` executor threads, fairly between tickets (see the module)."""

    def __init__(
        self, run: Callable[[Job], Outcome[T]], executor: Executor, workers: int, budget_s: float
    ) -> None:
        """Schedule ``run(job)`` calls: blocking, they return the outcome and CPU seconds.

        ``run`` never raises: an exception it returns is raised to the job's caller.
        """
        self._run, self._executor, self._budget_s = run, executor, budget_s
        self._free, self._workers = workers, workers
        self._turns = itertools.count()
        self._waiting: list[Ticket[Job, T]] = []

    def ticket(self) -> Ticket[Job, T]:
        """Open a new request's ticket: it queues behind the requests served before it came."""
        return Ticket(self._budget_s, next(self._turns))

    async def submit(self, ticket: Ticket[Job, T], job: Job) -> T:
        """Queue ``job`` for ``ticket``'s request and wait for its result.

        Raises:
            PreparationBudgetError: The request's CPU budget was spent before this job started.
            Exception: Whatever the job's outcome holds.
        """
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        ticket.queue.append((job, future))
        if ticket not in self._waiting:
            self._waiting.append(ticket)
        self._dispatch()
        return await future

    @property
    def queued(self) -> int:
        """Jobs waiting for a worker, all requests together."""
        return sum(len(ticket.queue) for ticket in self._waiting)

    def _dispatch(self) -> None:
        """Give free workers the next jobs, fewest running first, then least recently served."""
        while self._free > 0 and self._waiting:
            ticket = min(self._waiting, key=lambda t: (t.running, t.turn))
            if self._free == 1 < self._workers and ticket.running > 0:
                return  # the last worker is kept for a request with none running
            job, future = ticket.queue.popleft()
            if not ticket.queue:
                self._waiting.remove(ticket)
            if future.done():  # the request went away (cancelled)
                continue
            if ticket.cpu_s >= ticket.budget_s:
                future.set_exception(PreparationBudgetError(ticket.budget_s))
                continue
            try:
                started = asyncio.get_running_loop().run_in_executor(self._executor, self._run, job)
            except RuntimeError:  # the executor is shut down: the service is stopping
                future.set_exception(ModelNotReadyError("the service is shutting down"))
                continue
            self._free -= 1
            ticket.running += 1
            ticket.turn = next(self._turns)
            started.add_done_callback(lambda done, t=ticket, f=future: self._finish(t, f, done))

    def _finish(
        self, ticket: Ticket[Job, T], future: asyncio.Future[T], done: asyncio.Future[Outcome[T]]
    ) -> None:
        """Account the job's CPU time to its request, answer its caller, start the next job."""
        self._free += 1
        ticket.running -= 1
        if done.cancelled():
            future.cancel()
        elif (error := done.exception()) is not None:  # ``run`` broke its contract
            _answer(future, error)
        else:
            result, cpu_s = done.result()
            ticket.cpu_s += cpu_s
            _answer(future, result)
        self._dispatch()


def _answer(future: asyncio.Future[T], result: T | BaseException) -> None:
    """Resolve ``future`` with ``result`` (an exception is raised to its waiter), unless gone."""
    if future.done():
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)
