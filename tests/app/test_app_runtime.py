"""Batching, readiness, shutdown and device selection of the service."""

import asyncio
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx2
import image_factory as images
import numpy as np
import onnxruntime as ort
import pytest
from fastapi.testclient import TestClient
from fixture_paths import TINY_MODEL

from app.inference import service as app_service
from app.inference.batcher import BatcherClosedError, DynamicBatcher
from app.inference.model_loading import ModelLoadError
from app.inference.runtime import CUDA_PROVIDER, DeviceUnavailableError, load_runtime
from app.main import create_app

FACE_A = images.PHOTO_ONE_FACE.read_bytes()
FACE_B = images.PHOTO_ONE_FACE_2.read_bytes()


def batch_sizes(metrics_text: str) -> tuple[float, float]:
    """(sum, count) of the batch size histogram."""
    total = float(re.search(r"^faceverify_batch_size_sum (\S+)", metrics_text, re.M).group(1))
    count = float(re.search(r"^faceverify_batch_size_count (\S+)", metrics_text, re.M).group(1))
    return total, count


async def _concurrent_verifies(app, requests: int) -> list[httpx2.Response]:
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://test") as client:
            files = {"image1": ("a.jpg", FACE_A), "image2": ("b.jpg", FACE_B)}
            responses = await asyncio.gather(
                *(client.post("/verify", files=files) for _ in range(requests))
            )
            responses.append(await client.get("/metrics"))
            return responses


def test_concurrent_requests_share_model_calls(make_settings):
    app = create_app(make_settings(batch_max_wait_ms=50.0, batch_max_size=64))
    *verifies, metrics = asyncio.run(_concurrent_verifies(app, requests=8))
    assert all(response.status_code == 200 for response in verifies)
    images_embedded, model_calls = batch_sizes(metrics.text)
    assert images_embedded == 16
    assert model_calls < 8, "16 images from 8 concurrent requests need fewer than 8 model calls"


def test_ready_is_503_until_warm_up_finishes(make_settings, monkeypatch):
    release = threading.Event()
    original = app_service.load_model

    def slow_load(settings):
        release.wait(timeout=30)
        return original(settings)

    monkeypatch.setattr(app_service, "load_model", slow_load)
    app = create_app(make_settings())

    async def scenario():
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://test") as client:
            async with asyncio.TaskGroup() as group:
                lifespan = app.router.lifespan_context(app)
                starting = group.create_task(lifespan.__aenter__())
                await asyncio.sleep(0.2)
                before = await client.get("/ready")
                embed_before = await client.post("/embed", files={"images": ("a", FACE_A)})
                health = await client.get("/health")
                release.set()
            await starting
            after = await client.get("/ready")
            await lifespan.__aexit__(None, None, None)
            stopped = await client.get("/ready")
        return before, embed_before, health, after, stopped

    before, embed_before, health, after, stopped = asyncio.run(scenario())
    assert before.status_code == 503 and before.json()["error"]["code"] == "model_not_ready"
    assert embed_before.status_code == 503
    assert health.status_code == 200
    assert after.status_code == 200
    assert stopped.status_code == 503


def test_batcher_drains_queued_work_on_close():
    calls: list[int] = []

    def run_batch(pixels: np.ndarray) -> np.ndarray:
        calls.append(len(pixels))
        return pixels.reshape(len(pixels), -1) * 2

    async def scenario():
        with ThreadPoolExecutor(1) as executor:
            batcher = DynamicBatcher(run_batch, executor, max_batch_size=4, max_wait_ms=1000)
            batcher.start()
            waiting = [
                asyncio.ensure_future(batcher.embed(np.full((1, 1, 1), i, np.float32)))
                for i in range(10)
            ]
            await asyncio.sleep(0)
            await batcher.close()
            with pytest.raises(BatcherClosedError):
                await batcher.embed(np.zeros((1, 1, 1), np.float32))
            return [float(result[0]) for result in await asyncio.gather(*waiting)]

    results = asyncio.run(scenario())
    assert results == [2.0 * i for i in range(10)]
    assert sum(calls) == 10 and max(calls) == 4


def test_gpu_request_uses_the_gpu_or_fails_loudly():
    if CUDA_PROVIDER in ort.get_available_providers():
        runtime = load_runtime(TINY_MODEL, "onnx", "gpu", threads=0)
        assert runtime.on_gpu and CUDA_PROVIDER in runtime.description
    else:
        with pytest.raises(DeviceUnavailableError, match="device=gpu"):
            load_runtime(TINY_MODEL, "onnx", "gpu", threads=0)


def test_startup_with_device_gpu_runs_on_cuda_or_refuses_to_start(make_settings):
    app = create_app(make_settings(device="gpu"))
    if CUDA_PROVIDER in ort.get_available_providers():
        with TestClient(app) as client:
            assert CUDA_PROVIDER in client.get("/ready").json()["runtime"]
    else:
        with pytest.raises(ModelLoadError, match="device=gpu"), TestClient(app):
            pass
