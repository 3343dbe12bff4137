"""What POST and PATCH /people store can always be read back, the same on both backends.

Metadata nested 300 levels used to be stored and then break every read of the person (500);
a NUL in a display name was stored by SQLite but a 500 on PostgreSQL; a lone surrogate in
metadata was stored and broke ``GET /people``. Each is now 422 ``validation_error`` up front.
"""

import json

import pytest

from app.api.people_fields import MAX_METADATA_DEPTH


@pytest.fixture
def gallery_client(make_client, database_url):
    client = make_client(database_url=database_url)
    assert client.post("/people", json={"id": "ann", "display_name": "Ann"}).status_code == 201
    return client


def send(client, method: str, path: str, text: str):
    headers = {"content-type": "application/json"}
    return client.request(method, path, content=text.encode(), headers=headers)


def refusal(response) -> str:
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    return response.json()["error"]["message"]


def nested_value(depth: int) -> dict:
    """Metadata ``depth`` levels deep: the object itself is level 1, then nested lists."""
    value: list = []
    for _ in range(depth - 2):
        value = [value]
    return {"a": value}


def nested(depth: int) -> str:
    return json.dumps(nested_value(depth))


def assert_everything_reads(client) -> None:
    listed = client.get("/people", params={"limit": 500})
    assert listed.status_code == 200, listed.text
    for person in listed.json()["people"]:
        assert client.get(f"/people/{person['id']}").status_code == 200


@pytest.mark.parametrize("depth", [MAX_METADATA_DEPTH + 1, 300, 900])
def test_metadata_too_deep_is_refused_on_create_and_update(gallery_client, depth):
    client = gallery_client
    created = send(client, "POST", "/people", f'{{"id": "deep", "metadata": {nested(depth)}}}')
    assert refusal(created) == (
        f"body.metadata: Value error, must be nested at most {MAX_METADATA_DEPTH} levels deep"
    )
    assert client.get("/people/deep").status_code == 404
    updated = send(client, "PATCH", "/people/ann", f'{{"metadata": {nested(depth)}}}')
    assert f"at most {MAX_METADATA_DEPTH} levels" in refusal(updated)
    assert client.get("/people/ann").json()["metadata"] is None
    assert_everything_reads(client)


def test_metadata_at_the_depth_limit_round_trips(gallery_client):
    client = gallery_client
    text = nested(MAX_METADATA_DEPTH)
    assert (
        send(client, "POST", "/people", f'{{"id": "deep", "metadata": {text}}}').status_code == 201
    )
    assert send(client, "PATCH", "/people/ann", f'{{"metadata": {text}}}').status_code == 200
    expected = nested_value(MAX_METADATA_DEPTH)
    assert client.get("/people/deep").json()["metadata"] == expected
    assert client.get("/people/ann").json()["metadata"] == expected
    assert_everything_reads(client)


@pytest.mark.parametrize(
    ("name", "shown"),
    [("a\\u0000b", "U+0000"), ("a\\nb", "U+000A"), ("\\u007f", "U+007F"), ("\\ud800", "U+D800")],
)
def test_display_names_with_control_characters_are_refused(gallery_client, name, shown):
    client = gallery_client
    expected = (
        "body.display_name: Value error, must not contain control characters or lone "
        f"surrogates ({shown})"
    )
    created = send(client, "POST", "/people", f'{{"id": "bob", "display_name": "{name}"}}')
    assert refusal(created) == expected
    assert (
        refusal(send(client, "PATCH", "/people/ann", f'{{"display_name": "{name}"}}')) == expected
    )
    assert client.get("/people/bob").status_code == 404
    assert client.get("/people/ann").json()["display_name"] == "Ann"
    assert_everything_reads(client)


def test_format_characters_in_names_are_kept(gallery_client):
    name = (
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 \U0001f469\u200d\U0001f4bb"  # ZWNJ, ZWJ
    )
    created = gallery_client.post("/people", json={"id": "sara", "display_name": name})
    assert created.status_code == 201, created.text
    assert gallery_client.get("/people/sara").json()["display_name"] == name


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ('{"k": "v\\u0000"}', "a string holds a NUL character (U+0000), which cannot be stored"),
        ('{"k\\u0000": 1}', "a key holds a NUL character (U+0000), which cannot be stored"),
        ('{"k": ["\\udc00"]}', "a string holds a lone surrogate (U+DC00), which cannot be stored"),
    ],
)
def test_metadata_postgresql_cannot_store_is_refused_on_both(gallery_client, metadata, message):
    client = gallery_client
    created = send(client, "POST", "/people", f'{{"id": "bob", "metadata": {metadata}}}')
    assert refusal(created) == f"body.metadata: Value error, {message}"
    assert message in refusal(send(client, "PATCH", "/people/ann", f'{{"metadata": {metadata}}}'))
    assert client.get("/people/bob").status_code == 404
    assert_everything_reads(client)


def test_other_characters_in_metadata_round_trip(gallery_client):
    metadata = {"note": "line one\nline two\t\u0001", "\u00e9t\u00e9": "\U0001f600"}
    assert gallery_client.patch("/people/ann", json={"metadata": metadata}).status_code == 200
    assert gallery_client.get("/people/ann").json()["metadata"] == metadata


@pytest.mark.parametrize(
    ("method", "path", "location"),
    [
        ("GET", "/people/a%00b", "path.person_id"),
        ("PATCH", "/people/a%00b", "path.person_id"),
        ("DELETE", "/people/a%00b", "path.person_id"),
        ("DELETE", "/people/ann/faces/f%00", "path.face_id"),
        ("POST", "/people/a%01/faces", "path.person_id"),
        ("POST", "/people/a%00/verify", "path.person_id"),
        ("GET", "/people?after=a%00", "query.after"),
    ],
)
def test_ids_with_control_characters_are_refused_before_the_database(
    gallery_client, method, path, location
):
    body = '{"display_name": "x"}' if method == "PATCH" else ""
    message = refusal(send(gallery_client, method, path, body))
    assert message.startswith(f"{location}: Value error, must not contain control characters")
