"""People routes on both gallery backends (SQLite file, real PostgreSQL server)."""

import base64
import time

import image_factory as images
import numpy as np
import pytest

from app.gallery.records import ModelKey, NewFace

FACE_A = images.PHOTO_ONE_FACE.read_bytes()
FACE_B = images.PHOTO_ONE_FACE_2.read_bytes()
FACE_C = images.ORL_FACES[2].read_bytes()
TINY = ModelKey("tiny-random", "0.0.1", 16)


@pytest.fixture
def gallery_client(make_client, database_url):
    return make_client(database_url=database_url)


def enrol(client, person_id, *photos):
    client.post("/people", json={"id": person_id})
    files = [("images", (f"{i}.jpg", photo)) for i, photo in enumerate(photos)]
    response = client.post(f"/people/{person_id}/faces", files=files)
    assert response.status_code == 200, response.text
    return [result["face_id"] for result in response.json()["results"]]


def identify(client, photo, **fields):
    response = client.post(
        "/identify",
        files={"image": ("probe.jpg", photo)},
        data={k: str(v) for k, v in fields.items()},
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_create_get_list_and_conflicts(gallery_client):
    client = gallery_client
    created = client.post(
        "/people", json={"id": "alice", "display_name": "Alice", "metadata": {"badge": 1042}}
    )
    assert created.status_code == 201
    assert created.json()["faces"] == [] and created.json()["metadata"] == {"badge": 1042}
    generated = client.post("/people", json={}).json()["id"]
    assert len(generated) == 32
    duplicate = client.post("/people", json={"id": "alice"})
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "person_exists"
    assert client.get("/people/alice").json()["display_name"] == "Alice"
    missing = client.get("/people/bob")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "person_not_found"
    first = client.get("/people", params={"limit": 1}).json()
    second = client.get("/people", params={"limit": 1, "after": first["next_after"]}).json()
    assert [p["id"] for p in first["people"] + second["people"]] == sorted(["alice", generated])
    bad = client.post("/people", json={"id": "no spaces/or slashes"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"


def test_enrol_verify_identify_and_erase(gallery_client):
    client = gallery_client
    assert identify(client, FACE_A)["candidates"] == []  # empty gallery: 200, nobody
    alice = enrol(client, "alice", FACE_A, FACE_B)
    enrol(client, "carol", FACE_C)
    person = client.get("/people/alice").json()
    assert [face["id"] for face in person["faces"]] == alice
    assert person["faces"][0]["model"] == {"name": "tiny-random", "version": "0.0.1"}
    assert person["faces"][0]["current"] and len(person["faces"][0]["box"]) == 4

    verdict = client.post(
        "/people/alice/verify", json={"image": base64.b64encode(FACE_A).decode()}
    ).json()
    assert verdict["similarity"] == pytest.approx(1.0, abs=1e-5) and verdict["verified"]
    assert verdict["face_id"] == alice[0] and verdict["templates"] == 2
    assert verdict["mean_similarity"] <= verdict["similarity"]

    found = identify(client, FACE_C, top_k=2)
    assert [c["person_id"] for c in found["candidates"]] == ["carol", "alice"]
    assert found["candidates"][0]["similarity"] == pytest.approx(1.0, abs=2**-11)  # float16
    assert found["gallery"] == {"templates": 3, "people": 2}

    assert client.delete(f"/people/alice/faces/{alice[0]}").status_code == 204
    assert len(client.get("/people/alice").json()["faces"]) == 1
    assert client.delete("/people/alice").status_code == 204
    assert client.get("/people/alice").status_code == 404
    assert [c["person_id"] for c in identify(client, FACE_A, top_k=5)["candidates"]] == ["carol"]
    assert (
        client.post("/people/alice/verify", files={"image": ("a.jpg", FACE_A)}).status_code == 404
    )


def test_error_paths(gallery_client, make_client):
    client = gallery_client
    response = client.post("/people/nobody/faces", files={"images": ("a.jpg", FACE_A)})
    assert response.status_code == 404 and response.json()["error"]["code"] == "person_not_found"
    client.post("/people", json={"id": "dave"})
    no_templates = client.post("/people/dave/verify", files={"image": ("a.jpg", FACE_A)})
    assert no_templates.status_code == 422
    assert no_templates.json()["error"]["code"] == "no_templates"
    mixed = client.post(
        "/people/dave/faces",
        files=[("images", ("a.jpg", FACE_A)), ("images", ("b.txt", b"not an image"))],
    )
    first, broken = mixed.json()["results"]
    assert "face_id" in first and broken["error"]["code"] == "invalid_image"
    assert first["faces_detected"] == 1 and len(first["face"]["box"]) == 4
    assert len(client.get("/people/dave").json()["faces"]) == 1
    too_many = client.post("/identify", files={"image": ("a.jpg", FACE_A)}, data={"top_k": "51"})
    assert too_many.status_code == 422 and too_many.json()["error"]["code"] == "validation_error"
    face_gone = client.delete("/people/dave/faces/0123456789abcdef0123456789abcdef")
    assert face_gone.status_code == 404 and face_gone.json()["error"]["code"] == "face_not_found"


def test_probe_without_face_is_422_when_the_policy_forbids_fallback(make_client, database_url):
    client = make_client(database_url=database_url, no_face_policy="error")
    enrol(client, "erin", FACE_A)
    no_face = images.PHOTO_NO_FACE.read_bytes()
    for route in ("/identify", "/people/erin/verify"):
        response = client.post(route, files={"image": ("none.jpg", no_face)})
        assert response.status_code == 422 and response.json()["error"]["code"] == "no_face"


def test_restart_keeps_everything(make_client, database_url):
    first = make_client(database_url=database_url)
    faces = enrol(first, "frank", FACE_A, FACE_B)
    first.__exit__(None, None, None)
    again = make_client(database_url=database_url)
    assert [face["id"] for face in again.get("/people/frank").json()["faces"]] == faces
    assert identify(again, FACE_B)["candidates"][0]["face_id"] == faces[1]
    ready = again.get("/ready").json()["gallery"]
    assert ready["templates"] == 2 and ready["templates_needing_reenrolment"] == 0


def test_person_verify_threshold_choices(gallery_client):
    client = gallery_client
    enrol(client, "kate", FACE_A)
    photo = {"image": ("b.jpg", FACE_B)}
    default = client.post("/people/kate/verify", files=photo).json()
    assert default["threshold"] == 0.5 and default["operating_point"] == "default"
    custom = client.post("/people/kate/verify", files=photo, data={"threshold": "-1"}).json()
    assert custom["verified"] and custom["operating_point"] == "custom"
    unknown = client.post("/people/kate/verify", files=photo, data={"far": "0.001"})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "unknown_operating_point"
    both = client.post("/people/kate/verify", files=photo, data={"far": "0.01", "threshold": "1"})
    assert both.status_code == 422 and both.json()["error"]["code"] == "validation_error"
    strict = client.post("/identify", files=photo, data={"threshold": "1"}).json()
    assert strict["threshold"] == 1 and strict["fpir_bound"] is None
    assert not strict["candidates"][0]["verified"]


def other_process_store(database_url, tmp_path):
    """The gallery database as another replica (or a crashed process) writes it."""
    from app.gallery.codec import TemplateCodec
    from app.gallery.database import database_url as resolve_url
    from app.gallery.database import open_engine
    from app.gallery.store import GalleryStore

    return GalleryStore(
        open_engine(resolve_url(database_url, tmp_path / "data")), TemplateCodec(None)
    )


def embedding(client, photo):
    result = client.post("/embed", files={"images": ("a.jpg", photo)}).json()["results"][0]
    return np.asarray(result["embedding"], np.float32)


def test_changes_committed_by_another_process_reach_the_index(make_client, database_url, tmp_path):
    """A commit whose in-memory update never happened (another replica, or this process
    crashing right after the commit) is picked up by polling, and by a restart."""
    client = make_client(database_url=database_url, gallery_poll_ms=50)
    store = other_process_store(database_url, tmp_path)
    store.create_person("lena", None, None)
    (face,) = store.add_faces("lena", TINY, [NewFace(embedding(client, FACE_A), None, None)])
    store.engine.dispose()
    deadline = time.monotonic() + 5
    while not identify(client, FACE_A)["candidates"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert identify(client, FACE_A)["candidates"][0]["face_id"] == face.id
    client.__exit__(None, None, None)
    restarted = make_client(database_url=database_url)
    assert identify(restarted, FACE_A)["candidates"][0]["face_id"] == face.id


def test_a_replica_behind_pruned_events_reloads_everything(
    make_client, database_url, tmp_path, monkeypatch
):
    from app.gallery import changelog

    monkeypatch.setattr(changelog, "PRUNE_EVERY", 1)
    monkeypatch.setattr(changelog, "EVENTS_KEPT", 2)
    client = make_client(database_url=database_url, gallery_poll_ms=60_000)  # no poll here
    enrol(client, "old", FACE_C)
    store = other_process_store(database_url, tmp_path)
    for person, photo in (("pia", FACE_A), ("quinn", FACE_B), ("rosa", FACE_C)):
        store.create_person(person, None, None)
        store.add_faces(person, TINY, [NewFace(embedding(client, photo), None, None)])
    store.delete_person("old")
    store.delete_person("rosa")
    store.engine.dispose()
    enrol(client, "sam", images.ORL_FACES[0].read_bytes())  # its sync meets the pruned events
    found = {c["person_id"] for c in identify(client, FACE_A, top_k=10)["candidates"]}
    assert found == {"pia", "quinn", "sam"}


def test_identify_through_the_ivf_shortlist(make_client, database_url):
    client = make_client(database_url=database_url, ann_min_templates=3)
    enrol(client, "mia", FACE_A)
    enrol(client, "noah", FACE_B)
    enrol(client, "olga", FACE_C)
    found = identify(client, FACE_C, top_k=3)["candidates"]
    assert [c["person_id"] for c in found][0] == "olga" and len(found) == 3
    client.delete("/people/olga")
    assert "olga" not in [c["person_id"] for c in identify(client, FACE_C)["candidates"]]
