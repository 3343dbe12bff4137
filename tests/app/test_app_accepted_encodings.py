"""What a standard sender may send is accepted (issue 40): a multipart body with RFC 2046's
preamble and epilogue, and base64 in the URL-safe alphabet (RFC 4648 section 5)."""

import base64

import pytest
from hostile_requests import FACE, FACE_2, multipart

from app.http.multipart_reader import MAX_PREAMBLE_BYTES

PAIR = [("image1", "a.jpg", FACE), ("image2", "b.jpg", FACE_2)]


def error(response) -> tuple[int, str, str]:
    body = response.json()["error"]
    return response.status_code, body["code"], body["message"]


@pytest.mark.parametrize(
    ("preamble", "epilogue"),
    [
        (b"This is a multi-part message in MIME format.\r\n", b""),
        (b"\r\n", b""),
        (b"", b"an epilogue, ignored\r\n"),
        (b"preamble line 1\r\n--b0undar not quite the boundary\r\n", b"\r\nepilogue"),
    ],
)
def test_a_preamble_and_an_epilogue_are_skipped(client, preamble, epilogue):
    """The preamble used to get 400 "Expected boundary character"."""
    plain = client.post("/verify", **multipart(PAIR)).json()
    response = client.post("/verify", **multipart(PAIR, preamble=preamble, epilogue=epilogue))
    assert response.status_code == 200, response.text
    assert response.json()["similarity"] == plain["similarity"]


def test_a_preamble_on_embed_keeps_every_image(client):
    parts = [("images", "a.jpg", FACE), ("images", "b.jpg", FACE_2)]
    response = client.post("/embed", **multipart(parts, preamble=b"preamble\r\n"))
    assert response.status_code == 200, response.text
    assert [len(result["embedding"]) for result in response.json()["results"]] == [16, 16]


def test_a_body_without_a_boundary_line_is_refused_within_a_bounded_preamble(client):
    endless = b"x" * (MAX_PREAMBLE_BYTES + 1)
    assert error(client.post("/verify", **multipart(PAIR, preamble=endless))) == (
        400,
        "invalid_request",
        f"malformed multipart body: no boundary in its first {MAX_PREAMBLE_BYTES} bytes",
    )
    nothing = multipart([], close=False, preamble=b"no boundary at all")
    assert error(client.post("/verify", **nothing)) == (
        400,
        "invalid_request",
        "malformed multipart body: it ends before the closing boundary",
    )


def embedding(client, text: str) -> list[float]:
    response = client.post("/embed", json={"images": [text]})
    assert response.status_code == 200, response.text
    result = response.json()["results"][0]
    assert "error" not in result, result
    return result["embedding"]


def test_url_safe_base64_is_accepted_with_or_without_padding(client):
    """``-`` and ``_`` used to get "the image is not valid base64"."""
    data = FACE + b"\0"  # a byte after the JPEG's end, so that its base64 ends in padding
    standard = base64.b64encode(data).decode()
    url_safe = base64.urlsafe_b64encode(data).decode()
    assert ("-" in url_safe or "_" in url_safe) and url_safe.endswith("=")
    expected = embedding(client, standard)
    assert embedding(client, url_safe) == expected
    assert embedding(client, url_safe.rstrip("=")) == expected
    assert embedding(client, standard.rstrip("=")) == expected
    assert embedding(client, "data:image/jpeg;base64," + url_safe) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("QUJD+-", "it mixes the standard (+/) and URL-safe (-_) alphabets"),
        ("QUJD/_", "it mixes the standard (+/) and URL-safe (-_) alphabets"),
        ("QQ=", "incorrect padding"),
        ("QU!D", "only base64 data is allowed"),
    ],
)
def test_base64_stays_strict(client, text, reason):
    response = client.post("/embed", json={"images": [text]})
    assert response.json()["results"][0]["error"] == {
        "code": "invalid_image",
        "message": f"the image is not valid base64: {reason}",
    }
