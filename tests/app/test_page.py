"""The browser page at / (app/page/): served from the package, relative URLs only, no inline
script, turned off by FACEVERIFY_PAGE=false; and the API option it uses, ``return_crop``."""

import base64
import io
import re

import image_factory as images
import pytest
from hostile_requests import verify_json
from PIL import Image

FACE_A = images.PHOTO_ONE_FACE.read_bytes()
FACE_B = images.PHOTO_ONE_FACE_2.read_bytes()
PAGE_FILES = {"/": "text/html", "/page.js": "text/javascript", "/page.css": "text/css"}


def test_the_page_and_its_files_are_served_with_a_strict_policy(client):
    for path, media_type in PAGE_FILES.items():
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith(media_type)
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert response.headers["x-content-type-options"] == "nosniff"


def test_the_page_uses_relative_urls_only(client):
    html = client.get("/").text
    script = client.get("/page.js").text
    css = client.get("/page.css").text
    # No inline script or handler: the CSP above would block it.
    assert re.findall(r"<script\b[^>]*>", html) == ['<script src="page.js" defer>']
    assert not re.search(r"\son[a-z]+\s*=", html)
    for text in (html, script, css):
        assert "http://" not in text and "https://" not in text and "//" + "cdn" not in text
    for attribute in re.findall(r'(?:src|href|action)="([^"]*)"', html):
        assert not attribute.startswith(("/", "http")), attribute
    # Every fetch and call goes to a relative path: "verify", never "/verify".
    targets = re.findall(r'call\(\s*[`"]([^`"]*)', script)
    assert targets and all(not target.startswith("/") for target in targets), targets
    assert {"verify", "embed", "ready", "identify", "people"} <= {
        re.split(r"[/?$]", target)[0] for target in targets
    }
    assert "fetch(path" in script and 'fetch("/' not in script and "fetch('/" not in script
    assert "sessionStorage" in script and "localStorage" not in script
    assert 'capture="user"' in html


def test_the_page_can_be_turned_off(make_client):
    client = make_client(page=False)
    for path in PAGE_FILES:
        response = client.get(path)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert client.get("/health").status_code == 200


def test_the_page_files_are_package_data():
    from importlib.resources import files

    for name in ("index.html", "page.js", "page.css"):
        assert files("app").joinpath("page", name).is_file()
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    data = pyproject["tool"]["setuptools"]["package-data"]["app"]
    assert {"page/index.html", "page/page.js", "page/page.css"} <= set(data)


def decode_crop(url: str) -> Image.Image:
    prefix = "data:image/png;base64,"
    assert url.startswith(prefix)
    return Image.open(io.BytesIO(base64.b64decode(url[len(prefix) :])))


def test_verify_returns_the_aligned_crops_when_asked(client):
    files = {"image1": ("a.jpg", FACE_A), "image2": ("b.jpg", FACE_B)}
    plain = client.post("/verify", files=files).json()
    assert "crop" not in plain["image1"] and "crop" not in plain["image2"]
    asked = client.post("/verify", files=files, data={"return_crop": "true"}).json()
    assert asked["similarity"] == pytest.approx(plain["similarity"])
    for name in ("image1", "image2"):
        crop = decode_crop(asked[name]["crop"])
        assert crop.format == "PNG" and crop.size[0] == crop.size[1] > 0
    body = verify_json(client, FACE_A, FACE_B, return_crop=True)
    assert body["image1"]["crop"] == asked["image1"]["crop"]


def test_embed_returns_a_crop_per_embedded_image(client):
    response = client.post(
        "/embed",
        files=[
            ("images", ("a.jpg", FACE_A)),
            ("images", ("n.jpg", images.PHOTO_NO_FACE.read_bytes())),
        ],
        data={"return_crop": "true"},
    )
    face, failure = response.json()["results"]
    assert decode_crop(face["crop"]).format == "PNG"
    assert failure == {"error": {"code": "no_face", "message": "no face found in the image"}}


@pytest.mark.parametrize("option", ["return_crop", "return_faces"])
def test_the_page_options_are_refused_where_they_are_not_options(client, option):
    response = client.post("/identify", files={"image": ("a.jpg", FACE_A)}, data={option: "true"})
    assert response.status_code == 422
    assert option in response.json()["error"]["message"]
    bad = client.post(
        "/verify",
        files={"image1": ("a.jpg", FACE_A), "image2": ("b.jpg", FACE_B)},
        data={option: "perhaps"},
    )
    assert bad.status_code == 422 and option in bad.json()["error"]["message"]


def test_openapi_documents_return_crop_and_operating_points(client):
    schema = client.get("/openapi.json").json()
    for path in ("/verify", "/embed"):
        body = schema["paths"][path]["post"]["requestBody"]["content"]
        assert "return_crop" in body["multipart/form-data"]["schema"]["properties"]
    components = schema["components"]["schemas"]
    assert "crop" in components["ImageFaces"]["properties"]
    assert "operating_points" in components["ReadyResponse"]["properties"]
