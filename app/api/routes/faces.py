"""Face routes: /embed and /verify."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from app.api.dependencies import ServiceDep, SettingsDep, refuse_query_parameters, require_api_key
from app.api.documented_errors import FACE_ERRORS
from app.api.request_bodies import request_body
from app.api.responses import embed_result, image_faces, model_info
from app.api.schemas import (
    EmbedJsonRequest,
    EmbedOptions,
    EmbedResponse,
    PairOptions,
    VerifyJsonRequest,
    VerifyResponse,
)
from app.http.uploads import read_upload

router = APIRouter(
    tags=["faces"], dependencies=[Depends(require_api_key), Depends(refuse_query_parameters)]
)


@router.post(
    "/embed",
    response_model=EmbedResponse,
    responses=FACE_ERRORS,
    openapi_extra=request_body(EmbedJsonRequest, {"images[]": "image files"}),
)
async def embed(request: Request, service: ServiceDep, settings: SettingsDep) -> EmbedResponse:
    """Embed one or more images (field ``images``, repeatable; or JSON base64 ``images``).

    Results come in upload order. An image that fails (undecodable, too large, no face, a
    face of too low quality) gets an ``error`` object in its result while the others
    succeed; the status is then still 200. Request-level problems (body, content type,
    count) get an error status. ``return_crop=true`` adds each face's aligned crop;
    ``return_faces=true`` lists every face the detector found (``faces``, at most 20).
    """
    upload = await read_upload(
        request, ("images",), EmbedJsonRequest, settings.max_images_per_request
    )
    options = upload.options(EmbedOptions)
    outcomes = await service.embed_many(
        upload.images["images"], options.face_crop, options.return_crop
    )
    return EmbedResponse(
        model=model_info(service), results=[embed_result(o, options.return_faces) for o in outcomes]
    )


@router.post(
    "/verify",
    response_model=VerifyResponse,
    responses=FACE_ERRORS,
    openapi_extra=request_body(
        VerifyJsonRequest, {"image1": "first image", "image2": "second image"}
    ),
)
async def verify(request: Request, service: ServiceDep, settings: SettingsDep) -> VerifyResponse:
    """Tell whether two images (``image1``, ``image2``) show the same person.

    ``similarity`` is the cosine of the two embeddings; ``verified`` is ``similarity >=
    threshold``. The threshold is the model's default operating point (the most accurate on
    held-out photo pairs), the calibrated point of ``far`` (e.g. ``0.001``; an unknown value
    gets 422 ``unknown_operating_point`` naming the allowed ones), or ``threshold`` itself.
    ``return_crop=true`` adds each image's aligned face (``crop``, a PNG data URL);
    ``return_faces=true`` lists every face the detector found (``faces``, at most 20), the
    compared one marked ``chosen``.
    """
    upload = await read_upload(request, ("image1", "image2"), VerifyJsonRequest, 2)
    options = upload.options(PairOptions)
    result = await service.verify(
        upload.images["image1"][0],
        upload.images["image2"][0],
        options.threshold,
        options.far,
        options.face_crop,
        options.return_crop,
    )
    return VerifyResponse(
        verified=result.verified,
        similarity=result.similarity,
        threshold=result.threshold,
        operating_point=result.operating_point,
        model=model_info(service),
        image1=image_faces(result.first, options.return_faces),
        image2=image_faces(result.second, options.return_faces),
    )
