"""Fixtures of the service tests: settings on the tiny model and a running TestClient."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from fixture_paths import TINY_MODEL

from app.main import create_app
from app.settings import Settings
from app.settings_loading import load_settings

SettingsFactory = Callable[..., Settings]


@pytest.fixture
def make_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> SettingsFactory:
    """Build settings on the tiny model and a fresh data directory, ignoring the caller's
    FACEVERIFY_* environment."""
    for name in list(os.environ):
        if name.startswith("FACEVERIFY_"):
            monkeypatch.delenv(name)

    def factory(**overrides: object) -> Settings:
        values = {
            "model_path": TINY_MODEL,
            "device": "cpu",
            "threads": 1,
            "preprocess_workers": 2,
            # in-process for speed (a patched ImagePreparer applies); the default, processes:
            # tests/app/test_fair_preparation.py and every real server (tests/servers.py)
            "preprocess_mode": "thread",
            "batch_max_wait_ms": 5.0,
            "data_dir": tmp_path / "data",
            **overrides,
        }
        return load_settings(_env_file=None, **values)

    return factory


@pytest.fixture
def make_client(make_settings: SettingsFactory) -> Iterator[Callable[..., TestClient]]:
    """Start apps (lifespan included) with setting overrides; all are stopped afterwards."""
    clients: list[TestClient] = []

    def factory(**overrides: object) -> TestClient:
        client = TestClient(create_app(make_settings(**overrides)))
        client.__enter__()
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    """A running app on the tiny model with default settings."""
    return make_client()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    """Each gallery backend in turn: None = SQLite under the test's data directory."""
    if request.param == "sqlite":
        yield None
        return
    from postgres import fresh_database

    with fresh_database() as url:
        yield url
