"""The gallery's parts on their own: exact search, the identification threshold, the codec."""

import threading

import numpy as np
import pytest
from cryptography.fernet import Fernet
from metadata_factory import minimal_metadata

from app.gallery.ann import cells_for
from app.gallery.codec import TemplateCodec, TemplateDecodeError
from app.gallery.index import TemplateIndex
from app.gallery.records import Template
from app.inference.verdict import RatedThreshold, identification_threshold, operating_points


def random_templates(count, people, dimension=32, seed=0):
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((count, dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [Template(f"f{i}", f"p{i % people}", vectors[i]) for i in range(count)]


def half(vector):
    """``vector`` as float16 holds it."""
    return vector.astype(np.float16).astype(np.float32)


def brute_force(templates, probe, top_k):
    best = {}
    for template in templates:
        score = float(template.embedding @ probe)
        if score > best.get(template.person_id, -2):
            best[template.person_id] = score
    return sorted(best.items(), key=lambda item: -item[1])[:top_k]


@pytest.mark.parametrize("precision", ["float32", "float16"])
def test_search_is_exact_top_k_people_after_adds_and_removes(precision):
    templates = random_templates(2000, people=150)
    index = TemplateIndex(32, capacity=16, precision=precision)  # grows several times
    if precision == "float16":  # the truth is the float16 templates' own cosines
        templates = [Template(t.face_id, t.person_id, half(t.embedding)) for t in templates]
    index.add(templates)
    index.add(templates[:10])  # already there: no duplicates
    removed = {f"f{i}" for i in range(0, 2000, 3)}
    index.remove(removed | {"unknown"})
    kept = [t for t in templates if t.face_id not in removed]
    assert len(index) == len(kept) and index.people == len({t.person_id for t in kept})
    rng = np.random.default_rng(1)
    for _ in range(20):
        probe = rng.standard_normal(32).astype(np.float32)
        probe /= np.linalg.norm(probe)
        for top_k in (1, 7, 50):
            found = [(m.person_id, m.similarity) for m in index.search(probe, top_k)]
            expected = brute_force(kept, probe, top_k)
            assert [p for p, _ in found] == [p for p, _ in expected]
            assert np.allclose([s for _, s in found], [s for _, s in expected], atol=1e-5)


def test_empty_index_finds_nobody():
    assert TemplateIndex(8).search(np.ones(8, np.float32), 5) == []


def test_identification_threshold_rises_with_gallery_size():
    points = [RatedThreshold(1e-2, 0.6), RatedThreshold(1e-3, 0.7), RatedThreshold(1e-4, 0.8)]
    chosen = {
        n: identification_threshold(points, 0.5, n, fpir_target=0.01) for n in (1, 5, 50, 5000)
    }
    assert [chosen[n].cosine for n in (1, 5, 50, 5000)] == [0.6, 0.7, 0.8, 0.8]
    assert chosen[50].fpir_bound == pytest.approx(1 - (1 - 1e-4) ** 50)
    assert chosen[50].fpir_bound <= 0.01 < chosen[5000].fpir_bound  # honest when unmet
    uncalibrated = identification_threshold([], 0.5, 100, fpir_target=0.01)
    assert uncalibrated.cosine == 0.5 and uncalibrated.fpir_bound is None


def calibrated_metadata(points):
    return minimal_metadata(
        threshold={"cosine": 0.4, "operating_point": "best", "calibrated": True},
        operating_points=points,
    )


def test_a_point_counts_at_its_upper_confidence_limit():
    measured = {"name": "far_0.0001", "cosine": 0.8, "far_target": 1e-4, "far": 1e-4, "tar": 0.3}
    old_export = operating_points(calibrated_metadata([measured]))
    bounded = operating_points(calibrated_metadata([{**measured, "far_upper": 1.45e-4}]))
    assert [point.far for point in old_export] == [1e-4]
    assert [point.far for point in bounded] == [1.45e-4]
    rule = identification_threshold(bounded, 0.4, 460, fpir_target=0.01)
    assert rule.cosine == 0.8 and rule.fpir_bound == pytest.approx(1 - (1 - 1.45e-4) ** 460)


def test_an_upper_limit_below_the_measured_far_is_refused():
    point = {"name": "far_0.01", "cosine": 0.5, "far_target": 1e-2, "far": 0.01, "tar": 0.5}
    with pytest.raises(ValueError, match="far_upper 0.001 is below the measured far 0.01"):
        calibrated_metadata([{**point, "far_upper": 0.001}])


def test_codec_round_trip_and_wrong_keys():
    embedding = np.linspace(-1, 1, 16, dtype=np.float32)
    plain, key = TemplateCodec(None), Fernet.generate_key().decode()
    assert np.array_equal(plain.decode(plain.encode(embedding), False, 16), embedding)
    sealed = TemplateCodec(key).encode(embedding)
    assert embedding.tobytes() not in sealed
    assert np.array_equal(TemplateCodec(key).decode(sealed, True, 16), embedding)
    with pytest.raises(TemplateDecodeError, match="set FACEVERIFY_ENCRYPTION_KEY"):
        plain.decode(sealed, True, 16)
    with pytest.raises(TemplateDecodeError, match="does not decrypt"):
        TemplateCodec(Fernet.generate_key().decode()).decode(sealed, True, 16)
    with pytest.raises(TemplateDecodeError, match="expected 8 float32"):
        plain.decode(plain.encode(embedding), False, 8)


def clustered_templates(people, per_person, dimension=64, seed=0):
    """Each person a random direction, their templates noisy copies (like real embeddings)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((people, dimension)).astype(np.float32)
    templates = []
    for person in range(people):
        for number in range(per_person):
            vector = centres[person] + 0.4 * rng.standard_normal(dimension).astype(np.float32)
            templates.append(Template(f"f{person}-{number}", f"p{person}", vector))
    return centres, templates


def test_ann_shortlist_finds_the_exact_best_person_and_follows_changes():
    centres, templates = clustered_templates(1500, 2)
    exact, approximate = TemplateIndex(64), TemplateIndex(64, ann_min_templates=2000)
    for index in (exact, approximate):
        index.add(templates[:1000])
    assert not approximate.approximate  # below the size: exact
    for index in (exact, approximate):
        index.add(templates[1000:])
    approximate.wait_for_shortlist()
    assert approximate.approximate
    gone = {t.face_id for t in templates if t.person_id in {"p0", "p1", "p2"}}
    for index in (exact, approximate):
        index.remove(gone)
    rng = np.random.default_rng(5)
    agree = 0
    for person in rng.integers(3, 1500, 200):
        probe = centres[person] + 0.4 * rng.standard_normal(64).astype(np.float32)
        truth, found = exact.search(probe, 3), approximate.search(probe, 3)
        agree += found[0] == truth[0]
        assert len(found) == 3
    assert agree >= 190  # recall@1 >= 95% at the default nprobe
    probe = centres[0] + 0.4 * rng.standard_normal(64).astype(np.float32)
    assert all(m.person_id not in {"p0", "p1", "p2"} for m in approximate.search(probe, 10))


def own_template_found(index, templates):
    """Each template's own vector finds its person first (the shortlist holds it)."""
    return all(index.search(t.embedding, 1)[0].person_id == t.person_id for t in templates)


def test_shortlist_cells_are_relearned_as_the_gallery_grows():
    _, templates = clustered_templates(1200, 2)
    index = TemplateIndex(64, ann_min_templates=600, ann_nprobe=16_384)
    index.add(templates[:600])
    index.wait_for_shortlist()
    first_cells = index.shortlist_cells
    index.add(templates[600:2399])  # just under 4x: the cells stay
    index.wait_for_shortlist()
    assert index.shortlist_cells == first_cells == cells_for(600)
    index.add(templates[2399:])
    index.wait_for_shortlist()
    assert index.shortlist_cells == cells_for(2400) > first_cells
    assert own_template_found(index, templates[::7])


def test_changes_during_a_background_build_are_kept(monkeypatch):
    """Removals and additions while the builder copies rows chunk by chunk are reconciled."""
    from app.gallery import ann
    from app.gallery import index as index_module

    monkeypatch.setattr(index_module, "BUILD_CHUNK", 256)
    started, release = threading.Event(), threading.Event()
    add = ann.AnnShortlist.add

    def paused_add(self, vectors, labels):
        if not started.is_set():  # the builder's first chunk
            started.set()
            assert release.wait(30)
        add(self, vectors, labels)

    monkeypatch.setattr(ann.AnnShortlist, "add", paused_add)
    _, templates = clustered_templates(700, 2)
    index = TemplateIndex(64, ann_min_templates=1000, ann_nprobe=16_384)
    index.add(templates[:1000])
    assert started.wait(30)
    assert index.search(templates[0].embedding, 1)[0].person_id == "p0"  # exact meanwhile
    removed = {t.face_id for t in templates[:300]}  # rows of later chunks move into the holes
    index.remove(removed)
    index.add(templates[1000:])
    release.set()
    index.wait_for_shortlist()
    assert index.approximate
    assert own_template_found(index, templates[300:])
    for template in templates[:300:10]:
        assert all(m.face_id not in removed for m in index.search(template.embedding, 5))


def test_a_failed_build_keeps_exact_search_and_is_retried_at_twice_the_size(monkeypatch):
    from app.gallery import ann

    attempts = []

    def failing_train(self, sample):
        attempts.append(len(sample))
        raise MemoryError("no room for the cells")

    monkeypatch.setattr(ann.AnnShortlist, "train", failing_train)
    _, templates = clustered_templates(500, 2)
    index = TemplateIndex(64, ann_min_templates=400)
    for start in range(0, 1000, 100):
        index.add(templates[start : start + 100])
        index.wait_for_shortlist()
    assert len(attempts) == 2  # at 400 templates, then at 800
    assert not index.approximate
    assert own_template_found(index, templates[::9])


def test_migrations_upgrade_an_existing_gallery_and_keep_its_data(tmp_path):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import select

    from app.gallery import database
    from app.gallery.store import GalleryStore
    from app.gallery.tables import gallery_state

    engine = database.open_engine(database.database_url(None, tmp_path))
    config = Config()
    config.set_main_option("script_location", str(database.MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")  # a gallery made before revision 0002
    GalleryStore(engine, TemplateCodec(None)).create_person("uma", "Uma", None)
    database.migrate(engine)
    database.migrate(engine)  # idempotent
    store = GalleryStore(engine, TemplateCodec(None))
    assert store.get_person("uma").display_name == "Uma"
    with engine.connect() as connection:
        assert connection.execute(select(gallery_state.c.pruned_through)).scalar_one() == 0
    engine.dispose()
