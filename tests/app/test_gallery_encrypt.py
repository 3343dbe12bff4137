"""``python -m app.gallery encrypt``: a gallery stored plain is encrypted, or moved to a new key.

Setting FACEVERIFY_ENCRYPTION_KEY over an existing gallery used to leave every template stored
before it plain, without a word. Start-up now warns and ``/ready`` counts them; the command
encrypts them in place. Both backends; the command runs as a real process.
"""

import logging
import os
import subprocess
import sys

import image_factory as images
import pytest
from cryptography.fernet import Fernet
from fixture_paths import TINY_MODEL
from servers import ROOT
from sqlalchemy import create_engine, select

from app.gallery.database import database_url as sqlite_or
from app.gallery.opening import GalleryOpenError
from app.gallery.tables import faces

PHOTOS = [images.PHOTO_ONE_FACE.read_bytes(), images.PHOTO_ONE_FACE_2.read_bytes()]
KEY, NEW_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture
def plain_gallery(make_client, database_url, tmp_path):
    """Three templates stored without a key; yields the gallery's settings."""
    settings = {"database_url": database_url}
    client = make_client(**settings)
    for number, photo in enumerate([*PHOTOS, PHOTOS[0]]):
        assert client.post("/people", json={"id": f"p{number}"}).status_code == 201
        enrolled = client.post(f"/people/p{number}/faces", files={"images": ("a.jpg", photo)})
        assert "face_id" in enrolled.json()["results"][0]
    return settings | {"url": database_url or sqlite_or(None, tmp_path / "data")}


def command(settings, *arguments: str, **variables: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEVERIFY_")}
    env |= {"FACEVERIFY_MODEL_PATH": str(TINY_MODEL), "FACEVERIFY_DATABASE_URL": settings["url"]}
    return subprocess.run(
        [sys.executable, "-m", "app.gallery", *arguments],
        cwd=ROOT,
        env=env | variables,
        capture_output=True,
        text=True,
        timeout=120,
    )


def stored(settings) -> dict[str, tuple[bytes, bool]]:
    engine = create_engine(settings["url"])
    with engine.connect() as connection:
        rows = connection.execute(select(faces.c.id, faces.c.embedding, faces.c.encrypted))
        result = {row.id: (row.embedding, row.encrypted) for row in rows}
    engine.dispose()
    return result


def ready_gallery(client) -> dict:
    return client.get("/ready").json()["gallery"]


def identify(client) -> list[tuple[str, float]]:
    answer = client.post("/identify", files={"image": ("p.jpg", PHOTOS[0])}).json()
    return [(c["person_id"], round(c["similarity"], 5)) for c in answer["candidates"]]


def test_a_key_over_a_plain_gallery_warns_and_ready_counts(plain_gallery, make_client, caplog):
    plain = make_client(database_url=plain_gallery["database_url"])
    assert ready_gallery(plain)["unencrypted_templates"] == 3
    with caplog.at_level(logging.WARNING, logger="app.gallery.service"):
        keyed = make_client(database_url=plain_gallery["database_url"], encryption_key=KEY)
    assert "3 templates stored before are not encrypted" in caplog.text
    assert "python -m app.gallery encrypt" in caplog.text
    assert ready_gallery(keyed)["unencrypted_templates"] == 3


def test_encrypt_then_rekey_in_batches(plain_gallery, make_client):
    before, answers = stored(plain_gallery), identify(make_client(**_db(plain_gallery)))
    done = command(plain_gallery, "encrypt", "--batch-size", "2", FACEVERIFY_ENCRYPTION_KEY=KEY)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "encrypted 3 plain templates, re-keyed 0, 0 already under the key"
    after = stored(plain_gallery)
    assert after.keys() == before.keys() and all(encrypted for _, encrypted in after.values())
    assert all(before[face][0] not in after[face][0] for face in before)
    keyed = make_client(**_db(plain_gallery), encryption_key=KEY)
    assert ready_gallery(keyed)["unencrypted_templates"] == 0 and identify(keyed) == answers

    again = command(plain_gallery, "encrypt", FACEVERIFY_ENCRYPTION_KEY=KEY)
    assert (
        again.stdout.strip() == "encrypted 0 plain templates, re-keyed 0, 3 already under the key"
    )
    rekeyed = command(
        plain_gallery,
        "encrypt",
        FACEVERIFY_ENCRYPTION_KEY=NEW_KEY,
        FACEVERIFY_OLD_ENCRYPTION_KEY=KEY,
    )
    assert rekeyed.returncode == 0, rekeyed.stderr
    assert (
        rekeyed.stdout.strip() == "encrypted 0 plain templates, re-keyed 3, 0 already under the key"
    )
    assert identify(make_client(**_db(plain_gallery), encryption_key=NEW_KEY)) == answers
    with pytest.raises(GalleryOpenError, match="does not decrypt"):
        make_client(**_db(plain_gallery), encryption_key=KEY)


def test_templates_neither_key_reads_are_listed_and_kept(plain_gallery):
    assert command(plain_gallery, "encrypt", FACEVERIFY_ENCRYPTION_KEY=KEY).returncode == 0
    before = stored(plain_gallery)
    done = command(plain_gallery, "encrypt", FACEVERIFY_ENCRYPTION_KEY=NEW_KEY)
    assert done.returncode == 1
    assert done.stdout.strip() == "encrypted 0 plain templates, re-keyed 0, 0 already under the key"
    assert done.stderr.startswith("faceverify: 3 templates read with neither key, left as they")
    assert all(face in done.stderr for face in before) and stored(plain_gallery) == before


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({}, "faceverify: set FACEVERIFY_ENCRYPTION_KEY to the key to encrypt with"),
        (
            {"FACEVERIFY_ENCRYPTION_KEY": KEY, "FACEVERIFY_OLD_ENCRYPTION_KEY": "nope"},
            "faceverify: FACEVERIFY_OLD_ENCRYPTION_KEY: must be a Fernet key",
        ),
    ],
)
def test_a_missing_or_wrong_setting_is_one_line(plain_gallery, variables, message):
    before = stored(plain_gallery)
    done = command(plain_gallery, "encrypt", **variables)
    assert (done.returncode, done.stderr.strip()) == (2, message)
    assert stored(plain_gallery) == before


def _db(settings) -> dict:
    return {"database_url": settings["database_url"]}
