"""The change log replicas follow: a counter row every writer bumps, and face-id events.

Bumping ``gallery_state.version`` is each write transaction's first statement: its row lock
serialises writers, so versions commit in order and a reader that has applied version V only
needs the events after V. Events hold face ids only (random, nothing about the person). Old
events are pruned every ``PRUNE_EVERY`` versions, keeping the last ``EVENTS_KEPT``; a replica
further behind than that (``pruned_through``) reloads everything instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, and_, delete, insert, select, update

from app.gallery.tables import gallery_events, gallery_state

PRUNE_EVERY = 1_000
EVENTS_KEPT = 100_000


@dataclass(frozen=True)
class EventRange:
    """Face ids added and removed after a version, or ``reset`` when events are gone."""

    version: int
    removed: frozenset[str]
    added: tuple[str, ...]
    reset: bool = False


def bump(connection: Connection) -> int:
    """Take the writers' lock by bumping the counter (pruning old events now and then)."""
    connection.execute(
        update(gallery_state)
        .where(gallery_state.c.id == 1)
        .values(version=gallery_state.c.version + 1)
    )
    version = current_version(connection)
    if version % PRUNE_EVERY == 0 and version > EVENTS_KEPT:
        horizon = version - EVENTS_KEPT
        connection.execute(delete(gallery_events).where(gallery_events.c.version <= horizon))
        connection.execute(
            update(gallery_state).where(gallery_state.c.id == 1).values(pruned_through=horizon)
        )
    return version


def current_version(connection: Connection) -> int:
    """Return the version of the latest committed change."""
    return connection.execute(
        select(gallery_state.c.version).where(gallery_state.c.id == 1)
    ).scalar_one()


def record(connection: Connection, version: int, face_ids: Iterable[str], added: bool) -> None:
    """Write one event per face id under ``version``."""
    rows = [{"version": version, "face_id": face_id, "added": added} for face_id in face_ids]
    if rows:
        connection.execute(insert(gallery_events), rows)


def events_after(connection: Connection, version: int) -> EventRange:
    """Return what changed after ``version``, or a reset when those events were pruned."""
    now, pruned_through = connection.execute(
        select(gallery_state.c.version, gallery_state.c.pruned_through).where(
            gallery_state.c.id == 1
        )
    ).one()
    if now <= version:
        return EventRange(now, frozenset(), ())
    if version < pruned_through:
        return EventRange(now, frozenset(), (), reset=True)
    events = connection.execute(
        select(gallery_events.c.face_id, gallery_events.c.added)
        .where(and_(gallery_events.c.version > version, gallery_events.c.version <= now))
        .order_by(gallery_events.c.id)
    ).all()
    removed = frozenset(face_id for face_id, added in events if not added)
    added = tuple(face_id for face_id, added in events if added and face_id not in removed)
    return EventRange(now, removed, added)
