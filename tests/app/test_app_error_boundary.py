"""The error boundary of the in-process app (issue 10): unexpected errors are logged and answered
500 in the error shape, responses carry the security headers, CORS holds on errors, HEAD works
on the probes, and requests cancelled by shutdown still get a JSON answer."""

import json
import logging

import pytest
from hostile_requests import JSON, verify_files

from app.inference.image_preparation import ImagePreparer


def test_unexpected_preprocessing_error_is_logged_and_answered_500(client, monkeypatch, caplog):
    def broken(self, image):
        raise RuntimeError("boom")

    monkeypatch.setattr(ImagePreparer, "prepare", broken)
    with caplog.at_level(logging.INFO):
        response = client.post("/verify", files=verify_files())
    assert (response.status_code, response.json()["error"]["code"]) == (500, "internal_error")
    assert "boom" not in response.text
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors and all(r.exc_info for r in errors)


def test_error_escaping_the_routes_keeps_request_id_and_shape(client, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("app.api.routes.faces.read_upload", broken)
    with caplog.at_level(logging.ERROR):
        response = client.post("/verify", files=verify_files(), headers={"X-Request-ID": "r-1"})
    assert (response.status_code, response.json()["error"]["code"]) == (500, "internal_error")
    assert response.headers["x-request-id"] == "r-1"
    assert response.headers["cache-control"] == "no-store"
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1


def test_responses_carry_security_headers(client):
    response = client.post("/verify", files=verify_files())
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_cors_on_errors_and_json_preflight_refusal(make_client):
    client = make_client(cors_origins="https://ok.example", max_image_bytes=4096)
    origin = {"Origin": "https://ok.example"}
    too_big = client.post("/verify", content=b"x" * 100_000, headers={**JSON, **origin})
    assert too_big.status_code == 413
    assert too_big.headers["access-control-allow-origin"] == "https://ok.example"
    refused = client.options(
        "/verify",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "invalid_request")


def test_head_on_health_and_ready(client):
    assert client.head("/health").status_code == 200
    assert client.head("/ready").status_code == 200


def test_request_cancelled_by_shutdown_is_answered_in_the_error_shape():
    """uvicorn cancels requests still running after the graceful timeout: JSON 503, not text 500."""
    import asyncio

    from app.http.middleware import ErrorBoundaryMiddleware

    started, sent = asyncio.Event(), []

    async def endless(scope, receive, send):
        started.set()
        await asyncio.sleep(3600)

    async def send(message):
        sent.append(message)

    async def scenario():
        boundary = ErrorBoundaryMiddleware(endless)
        scope = {"type": "http", "method": "POST", "path": "/verify", "headers": []}
        task = asyncio.create_task(boundary(scope, None, send))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert sent[0]["status"] == 503
    assert json.loads(sent[1]["body"])["error"]["code"] == "model_not_ready"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("get", "/verify", "POST"),
        ("put", "/people/ann", "DELETE, GET, HEAD, PATCH"),
        ("delete", "/people", "GET, HEAD, POST"),
        ("post", "/health", "GET, HEAD"),
    ],
)
def test_a_405_names_every_method_of_the_path(client, method, path, allowed):
    """RFC 9110: Allow lists the methods; Starlette's names only the first route's (GET)."""
    response = client.request(method.upper(), path)
    assert (response.status_code, response.json()["error"]["code"]) == (405, "method_not_allowed")
    assert response.headers["allow"] == allowed
