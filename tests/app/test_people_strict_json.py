"""POST /people keeps exactly what was sent, or refuses it: no NaN, no infinity, no repeated key.

Python's json used to store ``{"badge": NaN}`` and ``1e999`` as null and keep the last of two
``id`` keys: data changed without a word.
"""

import pytest


def post_person(client, text: str):
    return client.post("/people", content=text, headers={"content-type": "application/json"})


def error(response) -> tuple[int, str, str]:
    body = response.json()["error"]
    return response.status_code, body["code"], body["message"]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_constants_are_refused(client, constant):
    response = post_person(client, '{"id": "ann", "metadata": {"badge": ' + constant + "}}")
    assert error(response) == (
        400,
        "invalid_request",
        f"the body is not valid JSON: {constant} is not a JSON value",
    )
    assert client.get("/people/ann").status_code == 404


def test_a_number_beyond_a_double_is_refused_not_stored_as_null(client):
    response = post_person(client, '{"id": "ann", "metadata": {"badge": 1e999}}')
    assert error(response) == (422, "validation_error", "body: the number 1e999 is out of range")
    assert client.get("/people/ann").status_code == 404


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('{"id": "ann", "id": "bob"}', "id"),
        ('{"id": "ann", "metadata": {"badge": 1, "badge": 2}}', "badge"),
    ],
)
def test_a_repeated_key_is_refused(client, text, key):
    assert error(post_person(client, text)) == (
        422,
        "validation_error",
        f"body: the key {key!r} is given more than once",
    )
    assert client.get("/people").json()["people"] == []


def test_hostile_nesting_and_integers_get_400_with_a_reason(client):
    deep = '{"id": "ann", "metadata": {"a": ' + "[" * 20_000 + "]" * 20_000 + "}}"
    assert error(post_person(client, deep))[2] == "the body is not valid JSON: nested too deeply"
    huge = '{"id": "ann", "metadata": {"a": ' + "9" * 4_001 + "}}"
    assert error(post_person(client, huge)) == (
        400,
        "invalid_request",
        "the body is not valid JSON: an integer of more than 4000 digits",
    )
    assert error(post_person(client, '{"id": '))[:2] == (400, "invalid_request")


def test_ordinary_metadata_round_trips_exactly(client):
    text = '{"id": "ann", "metadata": {"a": 1e300, "b": [1, -2.5, "x", null, true], "c": {"d": 0}}}'
    assert post_person(client, text).status_code == 201
    assert client.get("/people/ann").json()["metadata"] == {
        "a": 1e300,
        "b": [1, -2.5, "x", None, True],
        "c": {"d": 0},
    }


@pytest.mark.parametrize(
    ("headers", "shown"),
    [
        ({}, "(none)"),
        ({"content-type": "text/plain"}, "text/plain"),
        (
            {"content-type": "application/x-www-form-urlencoded"},
            "application/x-www-form-urlencoded",
        ),
        ({"content-type": "multipart/form-data; boundary=x"}, "multipart/form-data"),
    ],
)
@pytest.mark.parametrize(("method", "path"), [("post", "/people"), ("patch", "/people/ann")])
def test_a_body_that_is_not_declared_json_is_415_as_on_the_image_routes(
    client, method, path, headers, shown
):
    """It used to be 422 validation_error ("Input should be a valid dictionary")."""
    assert post_person(client, '{"id": "ann"}').status_code == 201
    response = client.request(method, path, content='{"display_name": "Ann"}', headers=headers)
    assert error(response) == (
        415,
        "unsupported_media_type",
        f"content type {shown!r} is not supported; send application/json",
    )
    assert client.get("/people/ann").json()["display_name"] is None
    assert len(client.get("/people").json()["people"]) == 1


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/x+json"])
def test_json_with_parameters_or_a_json_suffix_is_accepted(client, content_type):
    response = client.post(
        "/people", content='{"id": "ann"}', headers={"content-type": content_type}
    )
    assert response.status_code == 201, response.text
