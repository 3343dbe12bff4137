"""Checks a gallery write makes inside its transaction: the person exists, and has room."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from app.errors import PersonNotFoundError, TooManyFacesError
from app.gallery.records import ModelKey
from app.gallery.tables import faces, people


def require_person(connection: Connection, person_id: str) -> None:
    """Raise PersonNotFoundError unless the person exists."""
    if connection.execute(select(people.c.id).where(people.c.id == person_id)).first() is None:
        raise person_not_found(person_id)


def require_room(
    connection: Connection, person_id: str, model: ModelKey, adding: int, max_faces: int | None
) -> None:
    """Raise PersonNotFoundError, or TooManyFacesError past ``max_faces`` (None: no limit)."""
    require_person(connection, person_id)
    if max_faces is None:
        return
    held = connection.execute(
        select(func.count())
        .select_from(faces)
        .where(
            (faces.c.person_id == person_id)
            & (faces.c.model_name == model.name)
            & (faces.c.model_version == model.version)
        )
    ).scalar_one()
    if held + adding > max_faces:
        raise TooManyFacesError(
            f"person {person_id!r} holds {held} templates of this model and the limit is "
            f"{max_faces} (FACEVERIFY_MAX_FACES_PER_PERSON): {adding} more would pass it; "
            "remove some first"
        )


def person_not_found(person_id: str) -> PersonNotFoundError:
    """Return the error for a person id nobody holds."""
    return PersonNotFoundError(f"no person with id {person_id!r}")
