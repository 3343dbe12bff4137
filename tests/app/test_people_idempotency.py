"""``Idempotency-Key`` on POST /people and POST /people/{id}/faces: a retry adds nothing.

A client that lost the answer of an enrolment and retried used to get duplicate templates.
Both backends.
"""

from datetime import UTC, datetime, timedelta

import image_factory as images
import pytest
from sqlalchemy import create_engine, update

from app.gallery.idempotency import KEY_TTL
from app.gallery.tables import idempotency_keys

FACE = images.PHOTO_ONE_FACE.read_bytes()
OTHER_FACE = images.PHOTO_ONE_FACE_2.read_bytes()


@pytest.fixture
def gallery_client(make_client, database_url):
    client = make_client(database_url=database_url)
    client.database_url = database_url
    assert client.post("/people", json={"id": "ann"}).status_code == 201
    return client


def enrol(client, key: str | None, *photos: bytes, person: str = "ann"):
    headers = {"Idempotency-Key": key} if key else {}
    files = [("images", (f"{n}.jpg", photo)) for n, photo in enumerate(photos)]
    return client.post(f"/people/{person}/faces", files=files, headers=headers)


def error(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def face_count(client, person: str = "ann") -> int:
    return len(client.get(f"/people/{person}").json()["faces"])


def test_an_enrolment_retried_with_its_key_returns_the_first_answer(gallery_client):
    first = enrol(gallery_client, "enrol-1", FACE, b"not an image")
    assert first.status_code == 200 and "Idempotent-Replayed" not in first.headers
    retry = enrol(gallery_client, "enrol-1", FACE, b"not an image")
    assert retry.status_code == 200 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert face_count(gallery_client) == 1
    assert enrol(gallery_client, None, FACE).status_code == 200  # no key: a new template
    assert face_count(gallery_client) == 2


def test_a_key_with_other_content_or_another_person_is_refused(gallery_client):
    client = gallery_client
    assert client.post("/people", json={"id": "bob"}).status_code == 201
    assert enrol(client, "k", FACE).status_code == 200
    for response in (enrol(client, "k", OTHER_FACE), enrol(client, "k", FACE, person="bob")):
        assert error(response) == (422, "idempotency_key_reused")
        assert "use a new key" in response.json()["error"]["message"]
    assert (face_count(client), face_count(client, "bob")) == (1, 0)


def test_a_failed_request_stores_nothing_and_can_be_retried(gallery_client):
    assert error(enrol(gallery_client, "k", FACE, person="nobody")) == (404, "person_not_found")
    assert gallery_client.post("/people", json={"id": "nobody"}).status_code == 201
    assert enrol(gallery_client, "k", FACE, person="nobody").status_code == 200
    assert face_count(gallery_client, "nobody") == 1


def test_a_retry_is_answered_even_after_it_filled_the_person(make_client, database_url):
    client = make_client(database_url=database_url, max_faces_per_person=1)
    client.post("/people", json={"id": "ann"})
    first = enrol(client, "fill", FACE)
    assert first.status_code == 200
    assert enrol(client, "fill", FACE).json() == first.json()
    assert error(enrol(client, "other", FACE)) == (409, "too_many_faces")


def test_creating_a_person_retried_with_its_key(gallery_client):
    client = gallery_client
    headers = {"Idempotency-Key": "create-1"}
    body = {"display_name": "Generated", "metadata": {"badge": 7}}
    first = client.post("/people", json=body, headers=headers)
    assert first.status_code == 201
    retry = client.post("/people", json=body, headers=headers)
    assert retry.status_code == 201 and retry.json() == first.json()  # the same generated id
    assert len(client.get("/people").json()["people"]) == 2
    other = client.post("/people", json={**body, "display_name": "Else"}, headers=headers)
    assert error(other) == (422, "idempotency_key_reused")


@pytest.mark.parametrize("key", ["", "a b", "x" * 129, "caf\u00e9"])
def test_a_malformed_key_is_refused(gallery_client, key):
    response = gallery_client.post(
        "/people", json={"id": "bob"}, headers={"Idempotency-Key": key.encode("utf-8")}
    )
    assert error(response) == (422, "validation_error")
    assert "Idempotency-Key: must be 1-128 printable ASCII" in response.json()["error"]["message"]
    assert gallery_client.get("/people/bob").status_code == 404


def test_keys_expire_after_24_hours(gallery_client, tmp_path):
    assert timedelta(hours=24) == KEY_TTL
    assert enrol(gallery_client, "old", FACE).status_code == 200
    url = gallery_client.database_url or f"sqlite:///{tmp_path / 'data' / 'faceverify.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            update(idempotency_keys).values(created_at=datetime.now(UTC) - KEY_TTL * 1.01)
        )
    engine.dispose()
    again = enrol(gallery_client, "old", FACE)
    assert again.status_code == 200 and "Idempotent-Replayed" not in again.headers
    assert face_count(gallery_client) == 2


def test_erasure_forgets_the_keys(gallery_client):
    assert enrol(gallery_client, "k", FACE).status_code == 200
    assert gallery_client.delete("/people/ann").status_code == 204
    assert error(enrol(gallery_client, "k", FACE)) == (404, "person_not_found")
