"""``python -m app`` with a gallery it cannot open: one readable line naming the setting, exit 2.

It used to start uvicorn, fail in the lifespan and log a 5-10 KB traceback flattened into one
line (``\\x0a`` for each newline). Real processes, both backends.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cryptography.fernet import Fernet
from postgres import admin_url
from servers import ROOT, free_port, server_env
from sqlalchemy.engine import make_url

from app.gallery.codec import TemplateCodec
from app.gallery.database import database_url, migrate, open_engine
from app.gallery.records import ModelKey, NewFace
from app.gallery.store import GalleryStore

pytestmark = pytest.mark.e2e


def start_up(tmp_path: Path, **settings: str) -> tuple[int, list[str]]:
    """Run ``python -m app``; return its exit status and its stderr lines."""
    env = server_env(free_port(), FACEVERIFY_DATA_DIR=str(tmp_path / "data"), **settings)
    done = subprocess.run(
        [sys.executable, "-m", "app"], cwd=ROOT, env=env, capture_output=True, timeout=120
    )
    return done.returncode, done.stderr.decode().splitlines()


def assert_one_line(status: int, lines: list[str], *expected: str) -> str:
    assert status == 2, lines
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith("faceverify: ") and "Traceback" not in line and "\\x0a" not in line
    for text in expected:
        assert text in line, line
    return line


def test_a_wrong_database_password_is_one_line(tmp_path):
    url = make_url(admin_url()).set(password="not-the-password")
    status, lines = start_up(
        tmp_path, FACEVERIFY_DATABASE_URL=url.render_as_string(hide_password=False)
    )
    line = assert_one_line(
        status, lines, "password authentication failed", "check FACEVERIFY_DATABASE_URL"
    )
    assert "not-the-password" not in line and ":***@" in line


def test_an_unreachable_database_is_one_line(tmp_path):
    url = f"postgresql+psycopg://user:secret@127.0.0.1:{free_port()}/gallery"
    status, lines = start_up(tmp_path, FACEVERIFY_DATABASE_URL=url)
    line = assert_one_line(status, lines, "Connection refused", "check FACEVERIFY_DATABASE_URL")
    assert "secret" not in line


def test_an_unusable_data_directory_is_one_line(tmp_path):
    (tmp_path / "data").write_text("a file, not a directory")
    assert_one_line(*start_up(tmp_path), "check FACEVERIFY_DATA_DIR")


@pytest.fixture
def encrypted_gallery(database_url, tmp_path):
    """A gallery holding one template encrypted with a key; yields (settings, key)."""
    key = Fernet.generate_key().decode()
    engine = open_engine(database_url or database_url_of(tmp_path))
    migrate(engine)
    store = GalleryStore(engine, TemplateCodec(key))
    store.create_person("ann", None, None)
    face = NewFace(np.ones(4, np.float32), None, None)
    store.add_faces("ann", ModelKey("any", "1", 4), [face])
    engine.dispose()
    yield ({"FACEVERIFY_DATABASE_URL": database_url} if database_url else {}), key


def database_url_of(tmp_path: Path) -> str:
    return database_url(None, tmp_path / "data")


def test_another_encryption_key_is_one_line(encrypted_gallery, tmp_path):
    settings, _ = encrypted_gallery
    other = Fernet.generate_key().decode()
    status, lines = start_up(tmp_path, FACEVERIFY_ENCRYPTION_KEY=other, **settings)
    line = assert_one_line(
        status, lines, "does not decrypt with FACEVERIFY_ENCRYPTION_KEY", "cannot read the gallery"
    )
    assert other not in line


def test_a_missing_encryption_key_is_one_line(encrypted_gallery, tmp_path):
    settings, _ = encrypted_gallery
    status, lines = start_up(tmp_path, **settings)
    assert_one_line(status, lines, "holds encrypted templates; set FACEVERIFY_ENCRYPTION_KEY")
