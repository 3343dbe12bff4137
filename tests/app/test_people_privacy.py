"""What the gallery keeps: erasure leaves nothing in the SQLite file, templates can be
encrypted at rest, templates of another model are never compared, audit lines carry ids only."""

import json
import logging
import shutil

import image_factory as images
import numpy as np
import pytest
from cryptography.fernet import Fernet
from fixture_paths import TINY_MODEL
from test_people_api import FACE_A, FACE_B, enrol, identify

from app.gallery.database import SQLITE_FILENAME


def stored_bytes(data_dir) -> bytes:
    """Every byte SQLite keeps on disk: the database file, its WAL and shared memory."""
    return b"".join(path.read_bytes() for path in sorted(data_dir.glob(f"{SQLITE_FILENAME}*")))


def embedding_of(client, photo: bytes) -> bytes:
    result = client.post("/embed", files={"images": ("a.jpg", photo)}).json()["results"][0]
    return np.asarray(result["embedding"], "<f4").tobytes()


def test_delete_leaves_nothing_of_the_person_in_the_sqlite_file(make_client, tmp_path):
    data_dir = tmp_path / "data"
    client = make_client(data_dir=data_dir)
    client.post(
        "/people",
        json={
            "id": "zelda-erasure-check",
            "display_name": "Zelda Quux",
            "metadata": {"employee": "ZQ-778899"},
        },
    )
    enrol(client, "zelda-erasure-check", FACE_A, FACE_B)
    enrol(client, "someone-else", images.ORL_FACES[0].read_bytes())
    secrets = [
        b"zelda-erasure-check",
        b"Zelda Quux",
        b"ZQ-778899",
        embedding_of(client, FACE_A),
        embedding_of(client, FACE_B),
    ]
    before = stored_bytes(data_dir)
    assert all(secret in before for secret in secrets)  # the check can see them

    assert client.delete("/people/zelda-erasure-check").status_code == 204
    after = stored_bytes(data_dir)
    assert not [secret for secret in secrets if secret in after]
    assert b"someone-else" in after
    assert identify(client, FACE_A)["candidates"][0]["person_id"] == "someone-else"


def test_encrypted_templates_are_unreadable_without_the_key(make_client, tmp_path):
    data_dir, key = tmp_path / "data", Fernet.generate_key().decode()
    client = make_client(data_dir=data_dir, encryption_key=key)
    faces = enrol(client, "grace", FACE_A)
    assert embedding_of(client, FACE_A) not in stored_bytes(data_dir)
    assert identify(client, FACE_A)["candidates"][0]["face_id"] == faces[0]
    client.__exit__(None, None, None)

    restarted = make_client(data_dir=data_dir, encryption_key=key)
    found = identify(restarted, FACE_A)["candidates"][0]["similarity"]
    assert found == pytest.approx(1, abs=2**-11)  # templates held as float16 (index bound)
    restarted.__exit__(None, None, None)
    with pytest.raises(RuntimeError, match="FACEVERIFY_ENCRYPTION_KEY"):
        make_client(data_dir=data_dir)


def test_templates_of_another_model_need_reenrolment(make_client, tmp_path):
    data_dir = tmp_path / "data"
    old = make_client(data_dir=data_dir)
    enrol(old, "heidi", FACE_A, FACE_B)
    old.__exit__(None, None, None)
    newer = tmp_path / "model-v2"
    shutil.copytree(TINY_MODEL, newer)
    metadata = json.loads((newer / "metadata.json").read_text())
    (newer / "metadata.json").write_text(json.dumps({**metadata, "version": "0.0.2"}))

    client = make_client(data_dir=data_dir, model_path=newer)
    gallery = client.get("/ready").json()["gallery"]
    assert gallery == {
        "backend": "sqlite",
        "templates": 0,
        "templates_needing_reenrolment": 2,
        "unencrypted_templates": 2,
    }
    assert identify(client, FACE_A)["candidates"] == []
    faces = client.get("/people/heidi").json()["faces"]
    assert [face["current"] for face in faces] == [False, False]
    response = client.post("/people/heidi/verify", files={"image": ("a.jpg", FACE_A)})
    assert response.json()["error"]["code"] == "no_templates"
    enrol(client, "heidi", FACE_A)
    assert client.get("/ready").json()["gallery"]["templates"] == 1


def test_audit_lines_name_person_and_request_never_embeddings(make_client, caplog):
    client = make_client()
    with caplog.at_level(logging.INFO, logger="app.audit"):
        client.post("/people", json={"id": "ivan"})
        response = client.post(
            "/people/ivan/faces",
            files={"images": ("a.jpg", FACE_A)},
            headers={"X-Request-ID": "req-enrol-1"},
        )
        client.delete("/people/ivan", headers={"X-Request-ID": "req-erase-1"})
    audit = [record.getMessage() for record in caplog.records if record.name == "app.audit"]
    assert (
        "faces_enrolled person=ivan templates=1 model=tiny-random/0.0.1 request=req-enrol-1"
    ) in audit
    assert "person_erased person=ivan templates_removed=1 request=req-erase-1" in audit
    embedding = client.post("/embed", files={"images": ("a.jpg", FACE_A)}).json()
    first_value = f"{embedding['results'][0]['embedding'][0]:.4f}"
    assert response.status_code == 200
    assert not any(first_value in message for message in audit)
