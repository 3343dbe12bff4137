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
