"""The verification service: image bytes in, embeddings and verdicts out.

Preparation (:mod:`app.inference.image_preparation`) runs in worker processes or threads
(:mod:`app.inference.preparation_workers`), shared fairly (:mod:`app.inference.scheduler`);
inference goes through the dynamic batcher. Image bytes and embeddings are never logged.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from app.error_mapping import log_unexpected, to_api_error
from app.errors import ApiError, ModelNotReadyError, ServerBusyError
from app.gallery.records import ModelKey
from app.inference.batcher import BatcherClosedError, DynamicBatcher
from app.inference.decode_reservation import reserve_decode
from app.inference.image_input import ImageInput
from app.inference.image_preparation import PreparedImage
from app.inference.memory_budget import MemoryBudget
from app.inference.model_loading import LoadedModel, describe, load_model
from app.inference.model_streams import model_streams
from app.inference.outcomes import Embedded, Verification
from app.inference.preparation_workers import PreparationJob, Workers, preparation_workers
from app.inference.runtime import EmbeddingRuntime
from app.inference.scheduler import FairScheduler, Ticket
from app.inference.verdict import is_match, verification_threshold
from app.prometheus import Metrics
from app.settings import Settings
from facecore.metadata import ModelMetadata

logger = logging.getLogger(__name__)


class FaceService:
    """Owns the model, the preprocessing threads and the batcher of one application."""

    def __init__(
        self,
        settings: Settings,
        metrics: Metrics,
        budget: MemoryBudget,
        preloaded: LoadedModel | None,
    ) -> None:
        self.settings, self.metrics = settings, metrics
        self.budget = budget  # the process's one budget (app.inference.memory_budget), bodies too
        self.metadata: ModelMetadata | None = None
        self.ready = self.draining = False
        self._preloaded = preloaded
        self._runtime: EmbeddingRuntime | None = None
        self._batcher: DynamicBatcher | None = None  # inference, model_streams(settings) at once
        self._workers: Workers | None = None
        self._scheduler: FairScheduler[PreparationJob, PreparedImage] | None = None
        self._model_pool: ThreadPoolExecutor | None = None

    @property
    def model_metadata(self) -> ModelMetadata:
        """The served model's metadata.json (503 ``model_not_ready`` before it is loaded)."""
        if self.metadata is None:
            raise ModelNotReadyError()
        return self.metadata

    @property
    def model_key(self) -> ModelKey:
        """Name, version and dimension of the served model: what its templates belong to."""
        meta = self.model_metadata
        return ModelKey(meta.name, meta.version, meta.embedding.dimension)

    @property
    def runtime_name(self) -> str:
        """Backend and device of the loaded runtime, e.g. its ONNX Runtime providers."""
        return self._runtime.description if self._runtime is not None else "not loaded"

    @property
    def images_waiting(self) -> int:
        """Images queued for a preparation worker, all requests together."""
        return self._scheduler.queued if self._scheduler is not None else 0

    async def start(self) -> None:
        """Read metadata, load the runtime, warm it up and start batching (in lifespan)."""
        settings, loop = self.settings, asyncio.get_running_loop()
        self._model_pool = ThreadPoolExecutor(model_streams(settings), thread_name_prefix="model")
        model = self._preloaded or await loop.run_in_executor(
            self._model_pool, load_model, settings
        )
        self._preloaded = None
        self.metadata, self._runtime = model.metadata, model.runtime
        self._workers = preparation_workers(settings, model.config, self.budget)
        await loop.run_in_executor(None, self._workers.start)
        pool = self._workers
        self._scheduler = FairScheduler(
            pool.run, pool.executor, pool.count, settings.prepare_budget_s
        )
        self._batcher = DynamicBatcher(
            self._runtime.embed,
            self._model_pool,
            max_batch_size=settings.batch_max_size,
            max_wait_ms=settings.batch_max_wait_ms,
            streams=model_streams(settings),
            observe=self._observe_batch,
        )
        self._batcher.start()
        self.metrics.model_ready(self.metadata, settings.backend, self._runtime)
        self.ready = True
        logger.info("model %s ready", describe(self.metadata))

    def begin_drain(self) -> None:
        """Answer ``/ready`` 503 from now on while still serving (safe in a signal handler).

        The orchestrator then stops routing new requests here before the listener closes.
        """
        self.draining = True

    async def stop(self) -> None:
        """Stop taking work, let queued images finish inference, release the threads.

        Decodes still running are not waited for: by now their requests have been answered or
        cancelled (the graceful timeout), and a huge image would hold the exit past it.
        """
        self.ready = False
        self.metrics.ready.set(0)
        if self._batcher is not None:
            await self._batcher.close()
            self._batcher = None
        if self._workers is not None:
            self._workers.close()
        if self._model_pool is not None:
            self._model_pool.shutdown(wait=True)

    async def embed_many(
        self, images: list[ImageInput], face_crop: bool = False, keep_crop: bool = False
    ) -> list[Embedded | ApiError]:
        """Embed several images concurrently; a failed image yields its ApiError in place."""
        ticket = self._require_scheduler().ticket()
        outcomes = await asyncio.gather(
            *(self.embed_one(image, face_crop, ticket, keep_crop) for image in images),
            return_exceptions=True,
        )
        results: list[Embedded | ApiError] = []
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
                raise outcome
            if isinstance(outcome, ServerBusyError):  # no room in the memory budget: retry all
                raise outcome
            results.append(to_api_error(outcome) if isinstance(outcome, Exception) else outcome)
        return results

    async def embed_one(
        self,
        image: ImageInput,
        face_crop: bool = False,
        ticket: Ticket | None = None,
        keep_crop: bool = False,
    ) -> Embedded:
        """Decode, find, check and align the face, then embed it through the batcher.

        ``face_crop``: the client declares the image a ready-made face crop (no detection).
        ``ticket``: the request's place in the preparation scheduler (its images share it).
        ``keep_crop``: keep the model's input pixels (the aligned crop) in the outcome.

        Raises:
            ApiError: The image is invalid, too large, has no (single) face, its face fails
                the quality gate, or the model is not ready.
        """
        batcher, scheduler = self._require_ready(), self._require_scheduler()
        try:
            if image.error is not None:
                raise image.error
            # Price, reserve, then a worker: a decode waits for its memory outside the queue.
            hold = await reserve_decode(self.settings, self.budget, image)
            try:
                job = (image, face_crop, hold)
                prepared = await scheduler.submit(ticket or scheduler.ticket(), job)
            finally:
                hold.release()  # what no worker took over (the job failed before one started)
        except Exception as exc:
            error = to_api_error(exc)
            if error.status >= 500 and error is not exc:
                log_unexpected(exc, "while preparing an image")
            self.metrics.image_errors.labels(error.code).inc()
            # The traceback holds the failed preparation's frames, decoded pixels included:
            # kept in a reference cycle, they would stay in memory until a garbage collection.
            exc.__traceback__ = None
            try:
                raise error from None
            finally:  # else this frame, in the error's traceback, would hold it (a cycle)
                del error
        self.metrics.faces_detected.observe(prepared.faces_detected)
        try:
            embedding = await batcher.embed(prepared.pixels)
        except BatcherClosedError as exc:
            raise ModelNotReadyError("the service is shutting down") from exc
        crop = prepared.pixels.clip(0, 255).astype(np.uint8) if keep_crop else None
        return Embedded(
            embedding,
            prepared.face,
            prepared.faces_detected,
            prepared.fallback,
            crop,
            prepared.faces,
            prepared.chosen,
        )

    async def verify(
        self,
        first: ImageInput,
        second: ImageInput,
        threshold: float | None = None,
        far: float | None = None,
        face_crop: bool = False,
        keep_crop: bool = False,
    ) -> Verification:
        """Compare two images by the cosine similarity of their embeddings.

        Args:
            first: The first image.
            second: The second image.
            threshold: Overrides the model's default threshold.
            far: Use the model's calibrated operating point for this false-accept rate.
            face_crop: Both images are ready-made face crops (no detection).
            keep_crop: Keep each image's aligned crop (the model's input) in its outcome.

        Raises:
            ApiError: Either image failed (the first failure is raised), or ``far`` names
                no calibrated point.
        """
        ticket = self._require_scheduler().ticket()
        used, point = verification_threshold(self.model_metadata, threshold, far)
        pair = (self.embed_one(image, face_crop, ticket, keep_crop) for image in (first, second))
        one, two = await asyncio.gather(*pair)
        similarity = float(np.clip(np.dot(one.embedding, two.embedding), -1.0, 1.0))
        return Verification(is_match(similarity, used), similarity, used, point, one, two)

    def _observe_batch(self, size: int, seconds: float) -> None:
        self.metrics.batch_size.observe(size)
        self.metrics.inference_seconds.observe(seconds)
        self.metrics.queue_depth.set(self._batcher.queue_depth if self._batcher else 0)

    def _require_ready(self) -> DynamicBatcher:
        if not self.ready or self._batcher is None:
            raise ModelNotReadyError()
        return self._batcher

    def _require_scheduler(self) -> FairScheduler[PreparationJob, PreparedImage]:
        if not self.ready or self._scheduler is None:
            raise ModelNotReadyError()
        return self._scheduler
