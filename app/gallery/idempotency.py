"""Stored answers of requests made with an Idempotency-Key (blocking; run them in threads).

A key is claimed by inserting its row (the primary key makes one request win); the answer is
written when that request has succeeded, and the claim dropped when it failed, so that a retry
can run it again. Rows older than :data:`KEY_TTL` are deleted on the next claim, and a person's
rows with the person (:func:`forget_person`, in the erasure's transaction).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.errors import IdempotencyKeyInProgressError, IdempotencyKeyReusedError
from app.gallery.tables import idempotency_keys as keys

KEY_TTL = timedelta(hours=24)


def _this(route: str, key: str):  # noqa: ANN202 - an SQLAlchemy clause
    return and_(keys.c.route == route, keys.c.key == key)


def claim(engine: Engine, route: str, key: str, fingerprint: str) -> str | None:
    """Claim ``key`` (None: go ahead), or return the answer stored for it (JSON text).

    Raises:
        IdempotencyKeyReusedError: The key was used with another request (fingerprint).
        IdempotencyKeyInProgressError: The request holding the key has not finished.
    """
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(delete(keys).where(keys.c.created_at < now - KEY_TTL))
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(keys).values(route=route, key=key, fingerprint=fingerprint, created_at=now)
            )
        return None
    except IntegrityError:
        with engine.connect() as connection:
            row = connection.execute(
                select(keys.c.fingerprint, keys.c.response).where(_this(route, key))
            ).first()
    if row is not None and row.fingerprint != fingerprint:
        raise IdempotencyKeyReusedError(
            "this Idempotency-Key was used with another request (another person or other "
            "content); use a new key for a new request"
        )
    if row is None or row.response is None:
        raise IdempotencyKeyInProgressError()
    return row.response


def answered(engine: Engine, route: str, key: str) -> bool:
    """Whether an answer is stored for ``key``."""
    with engine.connect() as connection:
        row = connection.execute(select(keys.c.response).where(_this(route, key))).first()
    return row is not None and row.response is not None


def complete(engine: Engine, route: str, key: str, person_id: str, response: str) -> None:
    """Store the answer of the request that claimed ``key``."""
    with engine.begin() as connection:
        connection.execute(
            update(keys).where(_this(route, key)).values(person_id=person_id, response=response)
        )


def release(engine: Engine, route: str, key: str) -> None:
    """Drop an unanswered claim (its request failed): a retry runs the request again."""
    with engine.begin() as connection:
        connection.execute(delete(keys).where(and_(_this(route, key), keys.c.response.is_(None))))


def forget_person(connection: Connection, person_id: str) -> None:
    """Delete the stored answers about a person (part of their erasure)."""
    connection.execute(delete(keys).where(keys.c.person_id == person_id))
