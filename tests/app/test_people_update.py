"""PATCH /people/{id}: change a display name or metadata without losing the templates.

On both gallery backends (SQLite file, real PostgreSQL server).
"""

import logging

import image_factory as images
import pytest

FACE = images.PHOTO_ONE_FACE.read_bytes()


@pytest.fixture
def gallery_client(make_client, database_url):
    client = make_client(database_url=database_url)
    created = client.post(
        "/people", json={"id": "ann", "display_name": "Ann", "metadata": {"badge": 1}}
    )
    assert created.status_code == 201
    enrolled = client.post("/people/ann/faces", files=[("images", ("a.jpg", FACE))])
    assert enrolled.status_code == 200
    return client


def error(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_a_field_given_replaces_and_a_field_left_out_stays(gallery_client):
    client = gallery_client
    faces = client.get("/people/ann").json()["faces"]
    renamed = client.patch("/people/ann", json={"display_name": "Ann Lee"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["display_name"] == "Ann Lee"
    assert renamed.json()["metadata"] == {"badge": 1} and renamed.json()["faces"] == faces
    client.patch("/people/ann", json={"metadata": {"badge": 2, "team": ["x"]}})
    stored = client.get("/people/ann").json()
    assert (stored["display_name"], stored["metadata"]) == ("Ann Lee", {"badge": 2, "team": ["x"]})


def test_null_clears_a_field(gallery_client):
    cleared = gallery_client.patch("/people/ann", json={"display_name": None, "metadata": None})
    assert cleared.status_code == 200
    stored = gallery_client.get("/people/ann").json()
    assert (stored["display_name"], stored["metadata"]) == (None, None)


def test_the_templates_still_match_after_an_update(gallery_client):
    gallery_client.patch("/people/ann", json={"metadata": {"badge": 3}})
    probe = gallery_client.post("/people/ann/verify", files={"image": ("p.jpg", FACE)})
    assert probe.status_code == 200 and probe.json()["templates"] == 1


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, "nothing to change"),
        ({"id": "bob"}, "body.id"),
        ({"display_name": "x" * 257}, "body.display_name"),
        ({"metadata": {"blob": "x" * 17_000}}, "16384 bytes"),
        ({"metadata": [1, 2]}, "body.metadata"),
    ],
)
def test_invalid_changes_are_refused_and_nothing_changes(gallery_client, body, expected):
    response = gallery_client.patch("/people/ann", json=body)
    assert error(response) == (422, "validation_error")
    assert expected in response.json()["error"]["message"]
    stored = gallery_client.get("/people/ann").json()
    assert (stored["display_name"], stored["metadata"]) == ("Ann", {"badge": 1})


def test_an_unknown_person_is_404(gallery_client):
    response = gallery_client.patch("/people/bob", json={"display_name": "Bob"})
    assert error(response) == (404, "person_not_found")
    assert gallery_client.get("/people/bob").status_code == 404


def test_the_audit_line_names_the_fields_never_their_values(gallery_client, caplog):
    with caplog.at_level(logging.INFO, logger="app.audit"):
        gallery_client.patch("/people/ann", json={"metadata": {"secret": "s3cr3t"}})
    lines = [record.getMessage() for record in caplog.records if record.name == "app.audit"]
    assert len(lines) == 1 and lines[0].startswith("person_updated person=ann fields=metadata")
    assert "s3cr3t" not in lines[0]
