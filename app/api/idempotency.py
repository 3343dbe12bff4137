"""The ``Idempotency-Key`` header of ``POST /people`` and ``POST /people/{id}/faces``.

A client that lost an answer retries with the same key and gets the stored answer (with
``Idempotent-Replayed: true``) instead of a second person or duplicate templates. The same key
with another person or other content is 422 ``idempotency_key_reused``; while the first request
runs, a retry is 409 ``idempotency_key_in_progress``. A failed request stores nothing (a retry
runs it again). Keys are kept 24 hours (:data:`app.gallery.idempotency.KEY_TTL`), and erased
with their person. Requests without the header are not affected.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.api.dependencies import GalleryDep
from app.errors import ValidationFailedError
from app.gallery import idempotency
from app.gallery.service import Gallery

HEADER = "Idempotency-Key"
_KEY = re.compile(r"[\x21-\x7e]{1,128}")
_KEY_RULE = "1-128 printable ASCII characters, no spaces"
_KEY_DESCRIPTION = f"{_KEY_RULE}; a retry with the same key gets the stored answer (24 h)"


class IdempotentRequest:
    """One request's use of its key: look it up, claim it, store the answer or release it."""

    def __init__(self, gallery: Gallery, route: str, key: str | None, status: int) -> None:
        self.gallery, self.route, self.key, self.status = gallery, route, key, status
        self._claimed = False

    async def answered(self) -> bool:
        """Whether an answer is stored for this key (a retry of a finished request)."""
        store = self.gallery.store
        return self.key is not None and await self.gallery.run(
            idempotency.answered, store.engine, self.route, self.key
        )

    async def begin(self, *parts: bytes) -> JSONResponse | None:
        """Claim the key for this content (None: go ahead), or return the stored answer."""
        if self.key is None:
            return None
        digest = hashlib.sha256()
        for part in parts:
            digest.update(len(part).to_bytes(8, "big") + part)
        engine = self.gallery.store.engine
        stored = await self.gallery.run(
            idempotency.claim, engine, self.route, self.key, digest.hexdigest()
        )
        if stored is None:
            self._claimed = True
            return None
        headers = {"Idempotent-Replayed": "true"}
        return JSONResponse(content=json.loads(stored), status_code=self.status, headers=headers)

    async def done(self, person_id: str, answer: BaseModel) -> None:
        """Store the answer for the retries."""
        if self._claimed:
            engine = self.gallery.store.engine
            await self.gallery.run(
                idempotency.complete,
                engine,
                self.route,
                self.key,
                person_id,
                answer.model_dump_json(),
            )
            self._claimed = False

    async def release(self) -> None:
        """Drop a claim whose request failed."""
        if self._claimed:
            self._claimed = False
            await self.gallery.run(
                idempotency.release, self.gallery.store.engine, self.route, self.key
            )


def idempotent(route: str, status: int) -> Callable[..., AsyncIterator[IdempotentRequest]]:
    """Return the dependency giving a route's :class:`IdempotentRequest` (failed: released)."""

    async def dependency(
        gallery: GalleryDep,
        key: Annotated[str | None, Header(alias=HEADER, description=_KEY_DESCRIPTION)] = None,
    ) -> AsyncIterator[IdempotentRequest]:
        if key is not None and not _KEY.fullmatch(key):
            raise ValidationFailedError(f"header.{HEADER}: must be {_KEY_RULE}")
        request = IdempotentRequest(gallery, route, key, status)
        try:
            yield request
        finally:
            await request.release()

    return dependency
