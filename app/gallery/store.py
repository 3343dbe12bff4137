"""The gallery's database operations, each one transaction (blocking; run them in threads).

Every change of the templates bumps ``gallery_state.version`` first: the row lock serialises
writers, so versions commit in order, and ``gallery_events`` rows carry the version of the
change that wrote them. A replica that has applied version V asks for the events after V.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.errors import FaceNotFoundError, PersonExistsError
from app.gallery import changelog, guards, idempotency
from app.gallery.codec import TemplateCodec
from app.gallery.records import Changes, FaceRecord, ModelKey, NewFace, Person, Template
from app.gallery.rows import (
    FACE_COLUMNS,
    face_record,
    face_row,
    new_face_id,
    person_record,
    template,
    templates_query,
)
from app.gallery.tables import faces, people

_CHUNK = 500
_UPDATABLE = frozenset({"display_name", "attributes"})


class GalleryStore:
    """People and templates in SQLite or PostgreSQL."""

    def __init__(self, engine: Engine, codec: TemplateCodec) -> None:
        self.engine, self.codec = engine, codec

    # --- people ---------------------------------------------------------------------------

    def create_person(
        self, person_id: str, display_name: str | None, attributes: dict[str, Any] | None
    ) -> Person:
        """Insert a person. Raises PersonExistsError when the id is taken."""
        row = {
            "id": person_id,
            "display_name": display_name,
            "attributes": attributes,
            "created_at": datetime.now(UTC),
        }
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(people).values(**row))
        except IntegrityError as exc:
            raise PersonExistsError(f"person {person_id!r} already exists") from exc
        return Person(person_id, display_name, attributes, row["created_at"])

    def list_people(self, limit: int, after: str | None) -> list[Person]:
        """Return people (with face records) by id, ``limit`` of them after ``after``."""
        query = select(people).order_by(people.c.id).limit(limit)
        if after is not None:
            query = query.where(people.c.id > after)
        with self.engine.connect() as connection:
            rows = list(connection.execute(query).mappings())
            records: dict[str, list[FaceRecord]] = {row["id"]: [] for row in rows}
            if records:
                for face in connection.execute(
                    select(*FACE_COLUMNS)
                    .where(faces.c.person_id.in_(list(records)))
                    .order_by(faces.c.id)
                ).mappings():
                    records[face["person_id"]].append(face_record(face))
            return [person_record(row, tuple(records[row["id"]])) for row in rows]

    def get_person(self, person_id: str) -> Person:
        """Return a person with their face records. Raises PersonNotFoundError."""
        with self.engine.connect() as connection:
            row = (
                connection.execute(select(people).where(people.c.id == person_id))
                .mappings()
                .first()
            )
            if row is None:
                raise guards.person_not_found(person_id)
            records = connection.execute(
                select(*FACE_COLUMNS).where(faces.c.person_id == person_id).order_by(faces.c.id)
            ).mappings()
            return person_record(row, tuple(face_record(record) for record in records))

    def update_person(self, person_id: str, changes: Mapping[str, Any]) -> Person:
        """Replace ``display_name`` and/or ``attributes``. Raises PersonNotFoundError."""
        unknown = set(changes) - _UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        with self.engine.begin() as connection:
            statement = update(people).where(people.c.id == person_id).values(**changes)
            if not connection.execute(statement).rowcount:
                raise guards.person_not_found(person_id)
        return self.get_person(person_id)

    def delete_person(self, person_id: str) -> list[str]:
        """Erase a person and all their templates; returns the removed face ids."""
        with self.engine.begin() as connection:
            version = changelog.bump(connection)
            guards.require_person(connection, person_id)
            face_ids = list(
                connection.execute(
                    select(faces.c.id).where(faces.c.person_id == person_id)
                ).scalars()
            )
            connection.execute(faces.delete().where(faces.c.person_id == person_id))
            connection.execute(people.delete().where(people.c.id == person_id))
            idempotency.forget_person(connection, person_id)
            changelog.record(connection, version, face_ids, added=False)
        return face_ids

    # --- templates ------------------------------------------------------------------------

    def add_faces(
        self,
        person_id: str,
        model: ModelKey,
        new_faces: Sequence[NewFace],
        max_faces: int | None = None,
    ) -> list[FaceRecord]:
        """Store templates for a person, at most ``max_faces`` of ``model`` in all.

        Raises:
            PersonNotFoundError: No such person (also when erased meanwhile).
            TooManyFacesError: The person would hold more than ``max_faces`` templates.
        """
        now = datetime.now(UTC)
        rows = [
            face_row(self.codec, new_face_id(number), person_id, model, face, now)
            for number, face in enumerate(new_faces)
        ]
        try:
            with self.engine.begin() as connection:
                version = changelog.bump(connection)  # its row lock: no enrolment in between
                guards.require_room(connection, person_id, model, len(rows), max_faces)
                if rows:
                    connection.execute(insert(faces), rows)
                changelog.record(connection, version, [row["id"] for row in rows], added=True)
        except IntegrityError as exc:  # the person was erased meanwhile (PostgreSQL)
            raise guards.person_not_found(person_id) from exc
        return [face_record(row) for row in rows]

    def delete_face(self, person_id: str, face_id: str) -> None:
        """Remove one template. Raises PersonNotFoundError or FaceNotFoundError."""
        with self.engine.begin() as connection:
            version = changelog.bump(connection)
            deleted = connection.execute(
                faces.delete().where(and_(faces.c.id == face_id, faces.c.person_id == person_id))
            ).rowcount
            if not deleted:
                guards.require_person(connection, person_id)
                raise FaceNotFoundError(f"person {person_id!r} has no face {face_id!r}")
            changelog.record(connection, version, [face_id], added=False)

    def require_room(self, person_id: str, model: ModelKey, adding: int, max_faces: int) -> None:
        """Raise unless the person exists and may take ``adding`` more templates of ``model``."""
        with self.engine.connect() as connection:
            guards.require_room(connection, person_id, model, adding, max_faces)

    def person_templates(self, person_id: str, model: ModelKey) -> list[Template]:
        """Return the person's templates of ``model``. Raises PersonNotFoundError."""
        with self.engine.connect() as connection:
            guards.require_person(connection, person_id)
            rows = connection.execute(
                templates_query(model).where(faces.c.person_id == person_id)
            ).mappings()
            return [template(self.codec, row) for row in rows]

    # --- synchronisation ------------------------------------------------------------------

    def version(self) -> int:
        """Return the change counter: the version of the latest committed change."""
        with self.engine.connect() as connection:
            return changelog.current_version(connection)

    def load_all(self, model: ModelKey) -> tuple[int, Iterator[Template]]:
        """Return the current version and every template of ``model`` (streamed in chunks).

        Changes committed while loading are applied again from the events after the
        returned version; applying them twice changes nothing.
        """
        version = self.version()

        def templates() -> Iterator[Template]:
            with self.engine.connect() as connection:
                result = connection.execution_options(yield_per=_CHUNK).execute(
                    templates_query(model)
                )
                for row in result.mappings():
                    yield template(self.codec, row)

        return version, templates()

    def changes_since(self, version: int, model: ModelKey) -> Changes:
        """Return the faces added and removed after ``version``, and the version now."""
        with self.engine.connect() as connection:
            events = changelog.events_after(connection, version)
            added = []
            wanted = list(events.added)
            for chunk in _chunks(wanted):
                rows = connection.execute(
                    templates_query(model).where(faces.c.id.in_(chunk))
                ).mappings()
                added.extend(template(self.codec, row) for row in rows)
            return Changes(events.version, events.removed, tuple(added), events.reset)

    def stale_templates(self, model: ModelKey) -> int:
        """How many stored templates another model made (they need re-enrolment)."""
        with self.engine.connect() as connection:
            return connection.execute(
                select(func.count())
                .select_from(faces)
                .where(
                    (faces.c.model_name != model.name) | (faces.c.model_version != model.version)
                )
            ).scalar_one()


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]
