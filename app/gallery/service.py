"""The gallery service: the database, the in-memory index of the served model, and their sync.

Database calls block, so they run in a small thread pool. After each change this replica
commits, and every ``gallery_poll_ms`` for other replicas' changes, the events after the
index's version are applied to the index; a restart rebuilds the index from the database, so a
crash between a commit and the index update loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np
from sqlalchemy.exc import SQLAlchemyError
from threadpoolctl import threadpool_limits

from app.errors import GalleryUnavailableError
from app.gallery.audit import audit
from app.gallery.codec import TemplateDecodeError
from app.gallery.database import truncate_wal
from app.gallery.encryption import unencrypted_templates
from app.gallery.index import Match, TemplateIndex
from app.gallery.opening import GalleryOpenError, open_store
from app.gallery.records import ModelKey
from app.gallery.store import GalleryStore
from app.settings import Settings

logger = logging.getLogger(__name__)
T = TypeVar("T")


class Gallery:
    """Owns the store, the index and the poller of one application."""

    def __init__(self, settings: Settings, store: GalleryStore | None = None) -> None:
        """Args: store: already opened (``python -m app`` opens it first); else at start."""
        self.settings = settings
        self.store: GalleryStore | None = store
        self.index: TemplateIndex | None = None
        self.model: ModelKey | None = None
        self.stale_templates = 0
        self.unencrypted_templates = 0
        self.ready = False
        self._version = 0
        self._pool: ThreadPoolExecutor | None = None
        self._sync_lock = asyncio.Lock()
        self._poller: asyncio.Task[None] | None = None

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.store.engine.dialect.name if self.store else "not started"

    async def start(self, model: ModelKey) -> None:
        """Open the database (unless opened), load the model's templates, start polling.

        Raises:
            GalleryOpenError: The database cannot be opened, or a template cannot be read.
        """
        self._pool = ThreadPoolExecutor(8, thread_name_prefix="gallery")
        self._sync_lock = asyncio.Lock()
        if self.store is None:
            self.store = await self.run(open_store, self.settings)
        self.model = model
        single_threaded_blas()
        self.index = self._new_index()
        try:
            self._version = await self.run(self._load, self.index)
        except TemplateDecodeError as exc:
            raise GalleryOpenError(f"cannot load the gallery: {exc}") from None
        self.stale_templates = await self.run(self.store.stale_templates, model)
        await self._count_unencrypted()
        self._poller = asyncio.create_task(self._poll(), name="gallery-poll")
        self.ready = True
        logger.info(
            "gallery on %s: %d templates of %s %s (%d of other models need re-enrolment)",
            self.backend,
            len(self.index),
            model.name,
            model.version,
            self.stale_templates,
        )

    async def stop(self) -> None:
        """Stop polling and close the database."""
        self.ready = False
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        if self.store is not None:
            self.store.engine.dispose()
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """Run a blocking call in the gallery's threads."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, function, *args)

    async def sync(self) -> None:
        """Apply the database's changes since the index's version to the index."""
        async with self._sync_lock:
            changes = await self.run(self.store.changes_since, self._version, self.model)
            if changes.version == self._version:
                return
            if changes.reset:
                logger.warning(
                    "changes after version %d were pruned; reloading the gallery", self._version
                )
                index = self._new_index()
                self._version = await self.run(self._load, index)
                self.index = index
                return
            await self.run(self._apply, changes.removed, changes.added)
            if changes.removed:
                self.stale_templates = await self.run(self.store.stale_templates, self.model)
            self._version = changes.version

    async def search(self, probe: np.ndarray, top_k: int) -> list[Match]:
        """Return the ``top_k`` people most like ``probe``, after every change committed so far.

        Replicas poll for each other's changes every ``gallery_poll_ms``, so without more an
        erasure answered 204 by replica B could still be found by replica A for up to a poll
        interval. Before searching, one read of the change counter (a one-row primary-key
        select) tells whether any replica committed since the index's version; only then are
        the changes applied first (incrementally, as a poll would). /identify stays an
        in-memory search plus one tiny query; it is never answered from an index older than
        the last change committed before it searched. (``/people/{id}/verify`` reads the
        person's templates from the database itself, so it needs no such check.)

        Raises:
            GalleryUnavailableError: The database cannot be read (so nothing can be confirmed).
        """
        try:
            if await self.run(self.store.version) != self._version:
                await self.sync()
        except SQLAlchemyError as exc:
            logger.warning("gallery: cannot read the change counter: %s", type(exc).__name__)
            raise GalleryUnavailableError() from None
        return await self.run(self.index.search, probe, top_k)

    async def erased(self, person_id: str, face_ids: list[str]) -> None:
        """After an erasure: update the index, flush SQLite's WAL, write the audit line."""
        await self.sync()
        await self.run(truncate_wal, self.store.engine)
        audit("person_erased", person_id, templates_removed=len(face_ids))

    async def _count_unencrypted(self) -> None:
        """Count plain templates; warn when a key is set and some are left unencrypted."""
        self.unencrypted_templates = await self.run(unencrypted_templates, self.store.engine)
        if self.unencrypted_templates and self.store.codec.encrypts:
            logger.warning(
                "FACEVERIFY_ENCRYPTION_KEY is set but %d templates stored before are not "
                "encrypted; run `python -m app.gallery encrypt` to encrypt them",
                self.unencrypted_templates,
            )

    def _new_index(self) -> TemplateIndex:
        return TemplateIndex(
            self.model.dimension,
            ann_min_templates=self.settings.ann_min_templates,
            ann_nprobe=self.settings.ann_nprobe,
            precision=self.settings.template_precision,
        )

    def _load(self, index: TemplateIndex) -> int:
        version, templates = self.store.load_all(self.model)
        index.add(templates)
        return version

    def _apply(self, removed: frozenset[str], added: tuple) -> None:
        self.index.remove(removed)
        self.index.add(added)

    async def _poll(self) -> None:
        interval = self.settings.gallery_poll_ms / 1000
        while True:
            await asyncio.sleep(interval)
            try:
                await self.sync()
            except Exception:  # a database hiccup: log it, keep polling
                logger.exception("gallery sync failed; retrying in %.2f s", interval)


def single_threaded_blas() -> None:
    """Give numpy's BLAS one thread, process-wide (call once at start-up).

    A probe's matrix-vector product is memory-bound, and requests already run in parallel:
    with OpenBLAS's threads on a busy 2-core machine, 10k templates took 10.8 ms instead of 0.7.
    """
    threadpool_limits(limits=1, user_api="blas")
