"""People routes: enrol people once (create, list, read, erase; add and remove their photos).

Probing the enrolled people, 1:1 and 1:N, is in :mod:`app.api.routes.probes`.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from app.api.dependencies import (
    GalleryDep,
    ServiceDep,
    SettingsDep,
    refuse_query_parameters,
    refuse_repeated_query_parameters,
    require_api_key,
)
from app.api.documented_errors import PEOPLE_ERRORS
from app.api.idempotency import IdempotentRequest, idempotent
from app.api.people_fields import PathId
from app.api.people_schemas import (
    EnrolJsonRequest,
    EnrolResponse,
    PeoplePage,
    PeopleQuery,
    PersonCreate,
    PersonResponse,
    PersonUpdate,
)
from app.api.request_bodies import request_body
from app.api.responses import enrol_results, model_info, person_answer
from app.api.schemas import FaceCropOption
from app.errors import ApiError
from app.gallery.audit import audit
from app.gallery.records import FaceRecord, NewFace
from app.gallery.service import Gallery
from app.http.strict_json import StrictJsonRoute
from app.http.uploads import read_upload
from app.inference.image_preparation import require_crop_enrolment_allowed
from app.inference.outcomes import Embedded

CreateOnce = Annotated[IdempotentRequest, Depends(idempotent("people", 201))]
EnrolOnce = Annotated[IdempotentRequest, Depends(idempotent("faces", 200))]
router = APIRouter(
    tags=["people"], dependencies=[Depends(require_api_key)], route_class=StrictJsonRoute
)
# Every route but the list (whose query is PeopleQuery, as strict, each parameter given once)
# takes no query parameters.
_NO_QUERY = [Depends(refuse_query_parameters)]


@router.post(
    "/people",
    response_model=PersonResponse,
    status_code=201,
    responses=PEOPLE_ERRORS,
    dependencies=_NO_QUERY,
)
async def createperson_answer(
    body: PersonCreate, gallery: GalleryDep, once: CreateOnce
) -> PersonResponse | JSONResponse:
    """Create a person (409 ``person_exists`` when the id is taken); no photos yet.

    With ``Idempotency-Key``, a retry gets the first answer (see :mod:`app.api.idempotency`).
    """
    replay = await once.begin(body.model_dump_json().encode())
    if replay is not None:
        return replay
    person_id = body.id or uuid.uuid4().hex
    person = await gallery.run(
        gallery.store.create_person, person_id, body.display_name, body.metadata
    )
    audit("person_created", person.id)
    answer = person_answer(person, gallery)
    await once.done(person.id, answer)
    return answer


@router.get(
    "/people",
    response_model=PeoplePage,
    responses=PEOPLE_ERRORS,
    dependencies=[Depends(refuse_repeated_query_parameters)],
)
async def list_people(gallery: GalleryDep, query: Annotated[PeopleQuery, Query()]) -> PeoplePage:
    """People ordered by id, ``limit`` at a time after the id ``after``."""
    people = await gallery.run(gallery.store.list_people, query.limit, query.after)
    next_after = people[-1].id if len(people) == query.limit else None
    return PeoplePage(people=[person_answer(p, gallery) for p in people], next_after=next_after)


@router.get(
    "/people/{person_id}",
    response_model=PersonResponse,
    responses=PEOPLE_ERRORS,
    dependencies=_NO_QUERY,
)
async def getperson_answer(person_id: PathId, gallery: GalleryDep) -> PersonResponse:
    """One person and the descriptions of their templates (404 ``person_not_found``)."""
    return person_answer(await gallery.run(gallery.store.get_person, person_id), gallery)


@router.patch(
    "/people/{person_id}",
    response_model=PersonResponse,
    responses=PEOPLE_ERRORS,
    dependencies=_NO_QUERY,
)
async def updateperson_answer(
    person_id: PathId, body: PersonUpdate, gallery: GalleryDep
) -> PersonResponse:
    """Change a person's display name and/or metadata: a field given replaces, null clears."""
    changes = body.model_dump(include=body.model_fields_set)
    if "metadata" in changes:
        changes["attributes"] = changes.pop("metadata")
    person = await gallery.run(gallery.store.update_person, person_id, changes)
    audit("person_updated", person_id, fields=",".join(sorted(body.model_fields_set)))
    return person_answer(person, gallery)


@router.delete(
    "/people/{person_id}", status_code=204, responses=PEOPLE_ERRORS, dependencies=_NO_QUERY
)
async def deleteperson_answer(person_id: PathId, gallery: GalleryDep) -> Response:
    """Erase the person and every template: nothing of them remains in the service."""
    face_ids = await gallery.run(gallery.store.delete_person, person_id)
    await gallery.erased(person_id, face_ids)
    return Response(status_code=204)


@router.post(
    "/people/{person_id}/faces",
    response_model=EnrolResponse,
    responses=PEOPLE_ERRORS,
    openapi_extra=request_body(EnrolJsonRequest, {"images[]": "photos of the person"}),
    dependencies=_NO_QUERY,
)
async def enrol(
    person_id: PathId,
    request: Request,
    service: ServiceDep,
    gallery: GalleryDep,
    settings: SettingsDep,
    once: EnrolOnce,
) -> EnrolResponse | JSONResponse:
    """Enrol photos: one template per photo with a face; per-photo errors as on ``/embed``.

    Only the embedding, the model, the face box, the detector confidence and the time are
    stored, never the photo. Faces the detector did not find (``face_crop``, or detection
    off) are enrolled only where FACEVERIFY_ALLOW_CROP_ENROLMENT is true. With
    ``Idempotency-Key``, a retry gets the first answer.
    """
    limit = settings.max_faces_per_person
    require_crop_enrolment_allowed(settings, face_crop=False)
    # Before the body is read: the person exists and has room for one photo at least.
    if not await once.answered():  # (a retry gets its answer even if that filled the person)
        await gallery.run(gallery.store.require_room, person_id, gallery.model, 1, limit)
    upload = await read_upload(
        request, ("images",), EnrolJsonRequest, settings.max_images_per_request
    )
    face_crop = upload.options(FaceCropOption).face_crop
    require_crop_enrolment_allowed(settings, face_crop)
    images = upload.images["images"]
    replay = await once.begin(
        person_id.encode(), b"face_crop" if face_crop else b"", *(i.data for i in images)
    )
    if replay is not None:
        return replay
    await gallery.run(gallery.store.require_room, person_id, gallery.model, len(images), limit)
    outcomes = await service.embed_many(images, face_crop)
    records = await _store_templates(gallery, person_id, outcomes, limit)
    results = enrol_results(outcomes, iter(records))
    answer = EnrolResponse(person_id=person_id, model=model_info(service), results=results)
    await once.done(person_id, answer)
    return answer


@router.delete(
    "/people/{person_id}/faces/{face_id}",
    status_code=204,
    responses=PEOPLE_ERRORS,
    dependencies=_NO_QUERY,
)
async def delete_face(person_id: PathId, face_id: PathId, gallery: GalleryDep) -> Response:
    """Remove one template (404 ``person_not_found`` / ``face_not_found``)."""
    await gallery.run(gallery.store.delete_face, person_id, face_id)
    await gallery.sync()
    audit("face_removed", person_id, face=face_id)
    return Response(status_code=204)


async def _store_templates(
    gallery: Gallery, person_id: str, outcomes: list[Embedded | ApiError], limit: int
) -> list[FaceRecord]:
    """Store a template of each photo embedded (none: nothing is stored), and audit it."""
    new_faces = [_new_face(outcome) for outcome in outcomes if isinstance(outcome, Embedded)]
    records = []
    if new_faces:
        store, model = gallery.store, gallery.model
        records = await gallery.run(store.add_faces, person_id, model, new_faces, limit)
        await gallery.sync()
    model_name = f"{gallery.model.name}/{gallery.model.version}"
    audit("faces_enrolled", person_id, templates=len(records), model=model_name)
    return records


def _new_face(embedded: Embedded) -> NewFace:
    face = embedded.face
    box = None if face is None else tuple(float(value) for value in face.box)
    return NewFace(embedded.embedding, box, None if face is None else float(face.confidence))
