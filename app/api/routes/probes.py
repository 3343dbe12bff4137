"""Probe routes: a photo against one enrolled person (1:1) or the whole gallery (1:N).

The people themselves (creation, enrolment, erasure) are managed in :mod:`app.api.routes.people`.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from app.api.dependencies import (
    GalleryDep,
    ServiceDep,
    SettingsDep,
    refuse_query_parameters,
    require_api_key,
)
from app.api.documented_errors import PEOPLE_ERRORS
from app.api.people_fields import PathId
from app.api.people_schemas import (
    Candidate,
    GallerySize,
    IdentifyJsonRequest,
    IdentifyOptions,
    IdentifyResponse,
    PersonVerifyJsonRequest,
    PersonVerifyResponse,
)
from app.api.request_bodies import request_body
from app.api.responses import image_faces, model_info
from app.api.schemas import VerifyOptions
from app.errors import NoTemplatesError
from app.gallery.matching import match_person
from app.http.uploads import read_upload
from app.inference.verdict import identify_threshold, is_match, verification_threshold

router = APIRouter(
    tags=["people"], dependencies=[Depends(require_api_key), Depends(refuse_query_parameters)]
)
_VERIFY_BODY = request_body(PersonVerifyJsonRequest, {"image": "probe image"})
_IDENTIFY_BODY = request_body(IdentifyJsonRequest, {"image": "probe image"})


@router.post(
    "/people/{person_id}/verify",
    response_model=PersonVerifyResponse,
    responses=PEOPLE_ERRORS,
    openapi_extra=_VERIFY_BODY,
)
async def verify_person(
    person_id: PathId, request: Request, service: ServiceDep, gallery: GalleryDep
) -> PersonVerifyResponse:
    """Is the probe photo this person? Compared with each of their templates of this model.

    The threshold is chosen as on ``/verify``: the default operating point, ``far``'s, or
    ``threshold``.
    """
    templates = await gallery.run(gallery.store.person_templates, person_id, gallery.model)
    if not templates:
        raise NoTemplatesError(
            f"person {person_id!r} has no templates of model "
            f"{gallery.model.name} {gallery.model.version}"
        )
    upload = await read_upload(request, ("image",), PersonVerifyJsonRequest, 1)
    options = upload.options(VerifyOptions)
    metadata = service.model_metadata
    threshold, point = verification_threshold(metadata, options.threshold, options.far)
    probe = await service.embed_one(upload.images["image"][0], options.face_crop)
    match = match_person(templates, probe.embedding)
    return PersonVerifyResponse(
        person_id=person_id,
        verified=is_match(match.similarity, threshold),
        similarity=match.similarity,
        mean_similarity=match.mean_similarity,
        threshold=threshold,
        operating_point=point,
        face_id=match.face_id,
        templates=match.templates,
        model=model_info(service),
        probe=image_faces(probe),
    )


@router.post(
    "/identify",
    response_model=IdentifyResponse,
    responses=PEOPLE_ERRORS,
    openapi_extra=_IDENTIFY_BODY,
)
async def identify(
    request: Request, service: ServiceDep, gallery: GalleryDep, settings: SettingsDep
) -> IdentifyResponse:
    """Who is this? The ``top_k`` most similar people, each with a verdict.

    The threshold rises with the gallery size to hold the false-positive identification rate
    (``FACEVERIFY_IDENTIFY_FPIR``); ``threshold`` overrides it.
    """
    upload = await read_upload(request, ("image",), IdentifyJsonRequest, 1)
    options = upload.options(IdentifyOptions)
    probe = await service.embed_one(upload.images["image"][0], options.face_crop)
    matches = await gallery.search(probe.embedding, options.top_k)
    size = GallerySize(templates=len(gallery.index), people=gallery.index.people)
    rule, scope = identify_threshold(
        service.model_metadata, size.templates, settings.identify_fpir, options.threshold
    )
    return IdentifyResponse(
        candidates=[
            Candidate(
                person_id=m.person_id,
                face_id=m.face_id,
                similarity=m.similarity,
                verified=is_match(m.similarity, rule.cosine),
            )
            for m in matches
        ],
        threshold=rule.cosine,
        fpir_target=rule.fpir_target,
        fpir_bound=rule.fpir_bound,
        fpir_bound_scope=scope,
        gallery=size,
        model=model_info(service),
        probe=image_faces(probe),
    )
