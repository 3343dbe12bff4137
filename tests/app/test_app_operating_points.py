"""/verify's operating points: the default, a calibrated `far`, a custom `threshold`."""

import base64
import shutil

import image_factory as images
import pytest
from fixture_paths import TINY_MODEL

from facecore.metadata import ModelMetadata, OperatingPoint

FACE_A = images.PHOTO_ONE_FACE.read_bytes()
FACE_B = images.PHOTO_ONE_FACE_2.read_bytes()
POINTS = (
    OperatingPoint(name="best_accuracy", cosine=0.5, far=0.05, tar=0.95, accuracy=0.95),
    OperatingPoint(name="far_0.01", cosine=0.7, far_target=0.01, far=0.009, tar=0.8),
    OperatingPoint(name="far_0.001", cosine=0.99, far_target=0.001, far=0.001, tar=0.5),
)


@pytest.fixture
def calibrated_client(make_client, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(TINY_MODEL, model)
    metadata = ModelMetadata.load(model)
    metadata.model_copy(update={"operating_points": POINTS}).save(model)
    return make_client(model_path=model)


def verify(client, **fields):
    files = {"image1": ("a.jpg", FACE_A), "image2": ("b.jpg", FACE_B)}
    return client.post("/verify", files=files, data={k: str(v) for k, v in fields.items()})


def test_ready_lists_the_operating_points_most_lenient_first(calibrated_client):
    points = calibrated_client.get("/ready").json()["operating_points"]
    assert [(p["name"], p["cosine"], p["far"], p["default"]) for p in points] == [
        ("best_accuracy", 0.5, None, True),
        ("far_0.01", 0.7, 0.01, False),
        ("far_0.001", 0.99, 0.001, False),
    ]
    assert (points[1]["measured_far"], points[1]["tar"]) == (0.009, 0.8)


def test_ready_lists_the_default_threshold_of_a_model_without_a_table(client):
    (point,) = client.get("/ready").json()["operating_points"]
    assert (point["cosine"], point["far"], point["default"]) == (0.5, None, True)


def test_default_is_the_best_accuracy_point(calibrated_client):
    body = verify(calibrated_client).json()
    assert (body["threshold"], body["operating_point"]) == (0.5, "best_accuracy")


@pytest.mark.parametrize(
    "far, threshold, name",
    [("0.01", 0.7, "far_0.01"), ("1e-3", 0.99, "far_0.001"), ("0.001", 0.99, "far_0.001")],
)
def test_far_selects_its_calibrated_point(calibrated_client, far, threshold, name):
    body = verify(calibrated_client, far=far).json()
    assert (body["threshold"], body["operating_point"]) == (threshold, name)
    assert body["verified"] == (body["similarity"] >= threshold)


def test_far_in_json_and_custom_threshold(calibrated_client):
    encoded = [base64.b64encode(data).decode() for data in (FACE_A, FACE_B)]
    body = calibrated_client.post(
        "/verify", json={"image1": encoded[0], "image2": encoded[1], "far": 0.01}
    ).json()
    assert body["operating_point"] == "far_0.01"
    custom = verify(calibrated_client, threshold=0.25).json()
    assert (custom["threshold"], custom["operating_point"]) == (0.25, "custom")


def test_unknown_far_names_the_allowed_values(calibrated_client):
    response = verify(calibrated_client, far=0.05)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "unknown_operating_point"
    assert "0.001" in error["message"] and "0.01" in error["message"]
    assert verify(calibrated_client).status_code == 200  # still serving


@pytest.mark.parametrize(
    "fields", [{"far": "often"}, {"far": "0"}, {"far": "1.5"}, {"far": "0.01", "threshold": "0.3"}]
)
def test_malformed_far_is_a_validation_error(calibrated_client, fields):
    response = verify(calibrated_client, **fields)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_a_model_without_points_refuses_far(client):
    response = verify(client, far=0.001)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "unknown_operating_point"
    assert verify(client).json()["operating_point"] == "default"
