"""A misplaced or misspelt option is refused (422), never silently ignored.

``POST /verify?threshold=0.99`` or a form field ``treshold`` used to be dropped, and the answer
came at the lenient default point as if the client had asked for nothing.
"""

import base64

import image_factory as images
import pytest

FACE = images.PHOTO_ONE_FACE.read_bytes()
FACE_2 = images.PHOTO_ONE_FACE_2.read_bytes()
PAIR = {"image1": ("a.jpg", FACE), "image2": ("b.jpg", FACE_2)}
VERIFY_FIELDS = (
    "the fields are image1, image2, threshold, far, face_crop, return_crop, return_faces"
)


def refusal(response) -> str:
    """The message of a 422 validation_error answer."""
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    return response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/verify"),
        ("post", "/embed"),
        ("post", "/identify"),
        ("post", "/people"),
        ("post", "/people/ann/verify"),
        ("post", "/people/ann/faces"),
        ("get", "/people/ann"),
        ("patch", "/people/ann"),
        ("delete", "/people/ann"),
        ("delete", "/people/ann/faces/f1"),
    ],
)
def test_query_parameters_are_refused_where_a_route_takes_none(client, method, path):
    bodies = {("post", "/people"): {"id": "bob"}, ("patch", "/people/ann"): {"display_name": "A"}}
    body = {"json": bodies[method, path]} if (method, path) in bodies else {}
    response = getattr(client, method)(f"{path}?threshold=0.99", **body)
    assert refusal(response) == (
        "query.threshold: unknown query parameter; this route's parameters are in /docs"
    )


def test_a_threshold_in_the_query_does_not_fall_back_to_the_default(client):
    assert client.post("/verify", files=PAIR).status_code == 200
    assert "query.threshold" in refusal(client.post("/verify?threshold=0.99", files=PAIR))


def test_listing_people_takes_its_own_parameters_only(client):
    assert client.post("/people", json={"id": "ann"}).status_code == 201
    page = client.get("/people?limit=1")
    assert page.status_code == 200 and [p["id"] for p in page.json()["people"]] == ["ann"]
    assert "query.offset: unknown query parameter" in refusal(client.get("/people?offset=5"))
    assert "query.limit" in refusal(client.get("/people?limit=0"))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("limit=1&limit=2", "query.limit: given more than once"),
        ("after=a&limit=5&after=b", "query.after: given more than once"),
        (
            "limit=1&after=a&limit=1&after=a",
            "query.limit: given more than once; query.after: given more than once",
        ),
    ],
)
def test_a_repeated_query_parameter_is_refused_not_the_last_kept(client, query, message):
    """``?limit=1&limit=2`` used to answer with limit 2, as if 1 had not been asked."""
    for person in ("ann", "bob"):
        assert client.post("/people", json={"id": person}).status_code == 201
    assert refusal(client.get(f"/people?{query}")) == message


def test_operational_routes_ignore_a_query_string(client):
    assert client.get("/health?probe=1").status_code == 200


def test_a_misspelt_form_field_is_refused(client):
    response = client.post("/verify", files=PAIR, data={"treshold": "0.99"})
    assert refusal(response) == f"body.treshold: unknown field; {VERIFY_FIELDS}"


def test_a_misspelt_json_key_is_refused_with_the_same_message(client):
    body = {name: base64.b64encode(data).decode() for name, (_, data) in PAIR.items()}
    response = client.post("/verify", json={**body, "treshold": 0.99})
    assert refusal(response) == f"body.treshold: unknown field; {VERIFY_FIELDS}"


def test_an_extra_image_field_is_refused(client):
    response = client.post("/verify", files={**PAIR, "image3": ("c.jpg", FACE)})
    assert refusal(response) == f"body.image3: unknown field; {VERIFY_FIELDS}"


def test_an_option_sent_as_a_file_is_refused(client):
    response = client.post("/verify", files={**PAIR, "far": ("far.txt", b"0.001")})
    assert refusal(response) == "body.far: must be a text field, not a file upload"


def test_an_image_sent_as_text_is_refused(client):
    response = client.post(
        "/verify", files={"image2": ("b.jpg", FACE_2)}, data={"image1": "not a file"}
    )
    assert refusal(response) == "body.image1: must be a file upload, not a text field"


def test_each_route_takes_its_own_options(client):
    """``far`` belongs to /verify, ``top_k`` to /identify: each is unknown to the other."""
    assert "body.top_k: unknown field" in refusal(
        client.post("/verify", files=PAIR, data={"top_k": "3"})
    )
    probe = {"image": ("a.jpg", FACE)}
    message = refusal(client.post("/identify", files=probe, data={"far": "0.001"}))
    assert message == "body.far: unknown field; the fields are image, threshold, top_k, face_crop"
    assert client.post("/identify", files=probe, data={"top_k": "3"}).status_code == 200


@pytest.mark.parametrize("field", ["threshold", "far"])
@pytest.mark.parametrize("value", ["nan", "inf"])
def test_a_non_finite_option_is_refused_as_such(client, field, value):
    response = client.post("/verify", files=PAIR, data={field: value})
    assert refusal(response) == f"body.{field}: Input should be a finite number"


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        (
            "/verify",
            {"image1", "image2", "threshold", "far", "face_crop", "return_crop", "return_faces"},
        ),
        ("/embed", {"images", "face_crop", "return_crop", "return_faces"}),
        ("/identify", {"image", "threshold", "top_k", "face_crop"}),
        ("/people/{person_id}/verify", {"image", "threshold", "far", "face_crop"}),
        ("/people/{person_id}/faces", {"images", "face_crop"}),
    ],
)
def test_the_documented_form_fields_are_the_accepted_ones(client, path, fields):
    """/docs lists each route's multipart fields from the same schema that validates them."""
    body = client.get("/openapi.json").json()["paths"][path]["post"]["requestBody"]["content"]
    form = body["multipart/form-data"]["schema"]["properties"]
    assert set(form) == fields == set(body["application/json"]["schema"]["properties"])
