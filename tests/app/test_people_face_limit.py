"""FACEVERIFY_MAX_FACES_PER_PERSON: a person's templates are bounded, and so a probe's cost.

Refused before any photo is embedded; the store checks again inside its transaction. On both
gallery backends (SQLite file, real PostgreSQL server).
"""

import image_factory as images
import numpy as np
import pytest

from app.errors import TooManyFacesError
from app.gallery.records import NewFace
from app.inference.service import FaceService

FACE = images.PHOTO_ONE_FACE.read_bytes()
FACE_2 = images.PHOTO_ONE_FACE_2.read_bytes()


@pytest.fixture
def gallery_client(make_client, database_url):
    client = make_client(database_url=database_url, max_faces_per_person=2)
    assert client.post("/people", json={"id": "ann"}).status_code == 201
    return client


def enrol(client, *photos):
    files = [("images", (f"{i}.jpg", photo)) for i, photo in enumerate(photos)]
    return client.post("/people/ann/faces", files=files)


def test_enrolments_stop_at_the_limit_with_a_409_that_says_why(gallery_client):
    assert enrol(gallery_client, FACE).status_code == 200
    refused = enrol(gallery_client, FACE, FACE_2)
    assert refused.status_code == 409 and refused.json()["error"] == {
        "code": "too_many_faces",
        "message": "person 'ann' holds 1 templates of this model and the limit is 2 "
        "(FACEVERIFY_MAX_FACES_PER_PERSON): 2 more would pass it; remove some first",
    }
    assert len(gallery_client.get("/people/ann").json()["faces"]) == 1
    assert enrol(gallery_client, FACE_2).status_code == 200
    assert enrol(gallery_client, FACE).json()["error"]["code"] == "too_many_faces"


def test_a_removed_template_makes_room_again(gallery_client):
    face_ids = [r["face_id"] for r in enrol(gallery_client, FACE, FACE_2).json()["results"]]
    assert gallery_client.delete(f"/people/ann/faces/{face_ids[0]}").status_code == 204
    assert enrol(gallery_client, FACE).status_code == 200


def test_the_limit_is_checked_before_any_photo_is_embedded(gallery_client, monkeypatch):
    enrol(gallery_client, FACE, FACE_2)
    calls = []

    async def counting_embed_many(self, images):
        calls.append(len(images))
        raise AssertionError("embedded past the limit")

    monkeypatch.setattr(FaceService, "embed_many", counting_embed_many)
    assert enrol(gallery_client, FACE).status_code == 409
    assert calls == []


def test_an_unknown_person_is_still_404(gallery_client):
    response = gallery_client.post("/people/bob/faces", files=[("images", ("a.jpg", FACE))])
    assert response.json()["error"]["code"] == "person_not_found"


def test_the_store_holds_the_limit_inside_its_transaction(gallery_client):
    """What a concurrent enrolment that passed the route's early check would meet."""
    gallery = gallery_client.app.state.gallery
    faces = [NewFace(np.ones(16, np.float32) / 4.0, None, None)] * 3
    with pytest.raises(TooManyFacesError, match="holds 0 templates .* 3 more"):
        gallery.store.add_faces("ann", gallery.model, faces, max_faces=2)
    assert gallery.store.get_person("ann").faces == ()
    assert len(gallery.store.add_faces("ann", gallery.model, faces[:2], max_faces=2)) == 2


def test_a_full_person_is_refused_before_the_body_is_read(gallery_client, monkeypatch):
    enrol(gallery_client, FACE, FACE_2)
    read = []

    async def recording_read_upload(*args, **kwargs):
        read.append(args)
        raise AssertionError("read the body of an enrolment that cannot be stored")

    monkeypatch.setattr("app.api.routes.people.read_upload", recording_read_upload)
    refused = enrol(gallery_client, FACE)
    assert refused.status_code == 409 and "1 more would pass it" in refused.text
    assert read == []
