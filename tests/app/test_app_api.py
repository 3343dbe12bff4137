"""Service behaviour on valid requests: embeddings, verification, docs, ids, auth, metrics."""

import base64
import json
import logging
import re
import warnings
from urllib.parse import urlsplit

import image_factory as images
import numpy as np
import pytest

FACE_A = images.PHOTO_ONE_FACE.read_bytes()
FACE_B = images.PHOTO_ONE_FACE_2.read_bytes()


def files(first: bytes = FACE_A, second: bytes = FACE_B) -> dict:
    return {"image1": ("a.jpg", first, "image/jpeg"), "image2": ("b.jpg", second, "image/jpeg")}


def test_embed_multipart_returns_normalised_embeddings_in_order(client):
    response = client.post(
        "/embed", files=[("images", ("a.jpg", FACE_A)), ("images", ("b.jpg", FACE_B))]
    )
    assert response.status_code == 200
    body = response.json()
    model = {"name": "tiny-random", "version": "0.0.1", "dimension": 16, "precision": "float32"}
    assert body["model"] == model
    first, second = body["results"]
    for result in (first, second):
        assert len(result["embedding"]) == 16
        assert np.linalg.norm(result["embedding"]) == pytest.approx(1.0, abs=1e-5)
        assert result["faces_detected"] == 1
        assert len(result["face"]["box"]) == 4 and len(result["face"]["landmarks"]) == 6
    alone = client.post("/embed", files={"images": ("b.jpg", FACE_B)}).json()["results"][0]
    assert np.allclose(alone["embedding"], second["embedding"], atol=1e-6)


def test_embed_json_matches_multipart_and_isolates_failures(client):
    encoded = base64.b64encode(FACE_A).decode()
    body = client.post("/embed", json={"images": [encoded, "not base64!", encoded]}).json()
    first, broken, third = body["results"]
    message = "the image is not valid base64: only base64 data is allowed"
    assert broken == {"error": {"code": "invalid_image", "message": message}}
    assert first["embedding"] == third["embedding"]
    multipart = client.post("/embed", files={"images": ("a.jpg", FACE_A)}).json()
    assert np.allclose(multipart["results"][0]["embedding"], first["embedding"], atol=1e-6)


def test_verify_same_image_is_verified_with_similarity_one(client):
    response = client.post("/verify", files=files(FACE_A, FACE_A))
    assert response.status_code == 200
    body = response.json()
    assert body["similarity"] == pytest.approx(1.0, abs=1e-5)
    assert body["verified"] is True
    assert body["threshold"] == 0.5  # the tiny model's metadata.json
    assert body["image1"]["faces_detected"] == 1 and body["image1"]["face"]["confidence"] > 0.5


def test_verify_threshold_override_decides_the_verdict(client):
    encoded = [base64.b64encode(data).decode() for data in (FACE_A, FACE_B)]
    strict = client.post(
        "/verify", json={"image1": encoded[0], "image2": encoded[1], "threshold": 1.0}
    ).json()
    lenient = client.post("/verify", files=files(), data={"threshold": "-1"}).json()
    assert strict["threshold"] == 1.0 and strict["verified"] is (strict["similarity"] >= 1.0)
    assert lenient["threshold"] == -1.0 and lenient["verified"] is True
    assert strict["similarity"] == pytest.approx(lenient["similarity"], abs=1e-6)


def test_detection_off_treats_uploads_as_aligned_crops(make_client):
    client = make_client(detection=False)
    body = client.post("/embed", files={"images": ("a.jpg", FACE_A)}).json()["results"][0]
    assert body["face"] is None and body["faces_detected"] == 0
    assert len(body["embedding"]) == 16


def test_health_ready_docs_and_root_page(client):
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready").json()
    assert ready["status"] == "ready" and "CPUExecutionProvider" in ready["runtime"]
    assert client.get("/docs").status_code == 200 and client.get("/redoc").status_code == 200
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/verify"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "application/json"} <= set(body)
    assert "example" in body["application/json"]
    root = client.get("/", follow_redirects=False)
    assert root.status_code == 200 and root.headers["content-type"].startswith("text/html")


def test_openapi_operation_ids_are_unique(client):
    """Client generators key operations by operationId: no two may share one."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        schema = client.get("/openapi.json").json()
    ids = [op["operationId"] for path in schema["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_their_assets_from_the_service_itself(client, page):
    html = client.get(page).text
    scripts = re.findall(r'<script[^>]*\ssrc="([^"]+)"', html)
    styles = re.findall(r'<link[^>]*\shref="([^"]+)"', html)
    assert any(url.endswith(".js") for url in scripts)
    for url in scripts + styles:
        assert not urlsplit(url).scheme and not urlsplit(url).netloc, url
        assert client.get(url).status_code == 200, url
    script = client.get(next(url for url in scripts if url.endswith(".js")))
    assert "javascript" in script.headers["content-type"] and len(script.content) > 100_000


def test_request_id_is_echoed_or_generated(client):
    echoed = client.get("/health", headers={"X-Request-ID": "trace-123"})
    assert echoed.headers["x-request-id"] == "trace-123"
    generated = client.get("/health").headers["x-request-id"]
    assert len(generated) == 32 and generated != "trace-123"
    unsafe = client.get("/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert unsafe.headers["x-request-id"] != "bad id\twith spaces"


def test_api_keys_protect_face_routes_only(make_client):
    client = make_client(api_keys="key-one, key-two")
    missing = client.post("/verify", files=files())
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "unauthorized"
    wrong = client.post("/verify", files=files(), headers={"X-API-Key": "key-three"})
    assert wrong.status_code == 401
    right = client.post("/verify", files=files(), headers={"X-API-Key": "key-two"})
    assert right.status_code == 200
    assert client.get("/health").status_code == 200
    assert client.get("/ready").status_code == 200


def test_metrics_expose_requests_latency_batches_faces_and_model(client):
    client.post("/verify", files=files())
    client.post("/verify", content=b"x", headers={"content-type": "text/plain"})
    text = client.get("/metrics").text
    assert 'faceverify_http_requests_total{method="POST",route="/verify",status="200"} 1.0' in text
    assert 'faceverify_http_requests_total{method="POST",route="/verify",status="415"} 1.0' in text
    assert 'faceverify_http_request_duration_seconds_count{method="POST",route="/verify"}' in text
    assert "faceverify_batch_size_count" in text
    assert "faceverify_faces_detected_bucket" in text
    assert 'faceverify_model_info{backend="onnx"' in text and 'name="tiny-random"' in text
    assert 'precision="float32"' in text
    assert "faceverify_ready 1.0" in text


def test_logs_carry_request_id_and_never_image_bytes_or_embeddings(client, caplog):
    encoded = base64.b64encode(FACE_A).decode()
    with caplog.at_level(logging.DEBUG):
        response = client.post(
            "/embed", json={"images": [encoded]}, headers={"X-Request-ID": "log-check-1"}
        )
    embedding = response.json()["results"][0]["embedding"]
    access = [r for r in caplog.records if r.name == "app.access"]
    assert any(r.request_id == "log-check-1" and r.status == 200 for r in access)
    text = "\n".join(record.getMessage() + str(record.__dict__) for record in caplog.records)
    assert encoded[:40] not in text and encoded[-40:] not in text
    assert not any(f"{value:.6f}"[:8] in text for value in embedding if abs(value) > 1e-3)


def test_json_log_format_writes_one_object_per_line(make_client, capfd):
    client = make_client(log_format="json")
    client.get("/health", headers={"X-Request-ID": "json-1"})
    lines = [line for line in capfd.readouterr().err.splitlines() if '"json-1"' in line]
    record = json.loads(lines[-1])
    assert record["request_id"] == "json-1" and record["status"] == 200
    assert record["path"] == "/health" and record["method"] == "GET" and "duration_ms" in record


def test_openapi_documents_each_routes_errors(client):
    paths = client.get("/openapi.json").json()["paths"]
    enrol = paths["/people/{person_id}/faces"]["post"]["responses"]
    assert "person_not_found" in enrol["404"]["description"]
    assert "too_many_faces" in enrol["409"]["description"]
    assert "404" not in paths["/verify"]["post"]["responses"]
