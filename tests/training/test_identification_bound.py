"""The identification bound: cross-set FAR margins, the threshold rule with them, the bench."""

import json
from pathlib import Path

import numpy as np
import pytest
from fixture_paths import FIXTURES
from metadata_factory import minimal_metadata

from app.inference.verdict import bound_scope, identification_threshold, operating_points
from bench.identification import interval, measure, rule_of
from facecore.metadata import MetadataError, ModelMetadata
from training.evaluation.cross_set import (
    FoldShift,
    SetPairs,
    fold_shifts,
    margins,
    with_strict_points,
)
from training.evaluation.photo_embedder import Photo, embed_photos, heldout_photos

FACES = FIXTURES / "faces"
TINY_MODEL = FIXTURES / "tiny_model"
CALIBRATION = {"sets": ["a", "b"], "impostor_pairs": 1000, "margin_folds": 2}
STRICT = {"name": "far_0.0001", "cosine": 0.8, "far_target": 1e-4, "far": 1e-4, "tar": 0.3}


def shift(far, test, ratio):
    return FoldShift(far, test, ("other",), 0.5, 1, ratio)


def test_margin_is_the_worst_ratio_never_below_one_nor_a_more_lenient_one():
    shifts = [shift(1e-3, "a", 1.9), shift(1e-3, "b", 0.4), shift(1e-4, "a", 0.7)]
    assert margins(shifts, (1e-3, 1e-4, 1e-5)) == {1e-3: 1.9, 1e-4: 1.9, 1e-5: 1.9}
    assert margins([shift(1e-3, "a", 0.2)], (1e-3,)) == {1e-3: 1.0}
    with pytest.raises(ValueError, match="no held-out set has the impostor pairs"):
        margins([shift(1e-4, "a", 3.0)], (1e-3, 1e-4))


def set_pairs(impostor_mean, people=30, impostors=20_000, seed=0):
    rng = np.random.default_rng(seed)
    genuine = rng.normal(0.3, 0.1, 500)  # overlaps: the strict thresholds sit at their FAR
    return SetPairs(genuine, rng.normal(impostor_mean, 0.1, impostors), people)


def test_a_set_whose_impostors_score_higher_shows_as_a_shift_above_one():
    pairs = {"easy": set_pairs(0.0), "hard": set_pairs(0.1, seed=1), "few": set_pairs(0.5, 4)}
    shifts = fold_shifts(pairs, far_targets=(1e-2, 1e-3), min_expected=5, min_people=20)
    assert {s.test_set for s in shifts} == {"easy", "hard"}  # "few" has 4 people: no rate
    hard = [s for s in shifts if s.test_set == "hard" and s.calibrated_on == ("easy",)]
    assert hard and all(s.ratio > 1.5 for s in hard)
    assert all(s.far_target * 20_000 >= 5 for s in shifts)


def test_the_margin_widens_the_far_behind_the_bound():
    plain = operating_points(minimal_metadata(operating_points=[STRICT]))
    widened = minimal_metadata(
        operating_points=[{**STRICT, "far_upper": 1.5e-4, "far_margin": 3.0}],
        far_calibration=CALIBRATION,
    )
    points = operating_points(widened)
    assert [p.far for p in plain] == [1e-4]
    assert [p.far for p in points] == [pytest.approx(4.5e-4)]
    rule = identification_threshold(points, 0.4, 100, fpir_target=0.01)
    assert rule.cosine == 0.8 and rule.fpir_bound == pytest.approx(1 - (1 - 4.5e-4) ** 100)
    assert "not a guarantee for other photo sources" in bound_scope(widened)
    assert "x3..x3" in bound_scope(widened) and "(a, b)" in bound_scope(widened)
    assert "no margin" in bound_scope(minimal_metadata(operating_points=[STRICT]))
    unmargined = minimal_metadata(operating_points=[STRICT], far_calibration=CALIBRATION)
    assert "no margin" in bound_scope(unmargined)


def test_margins_round_trip_and_old_or_inconsistent_exports(tmp_path):
    old = minimal_metadata(operating_points=[STRICT])
    assert old.far_calibration is None and old.operating_points[0].far_margin is None
    point = old.operating_points[0].model_copy(update={"cosine": 0.85, "far_margin": 2.5})
    updated = with_strict_points(
        old,
        (point,),
        ModelMetadata.model_validate(
            {**old.model_dump(), "far_calibration": CALIBRATION}
        ).far_calibration,
    )
    assert ModelMetadata.load(updated.save(tmp_path)) == updated
    assert updated.operating_points[0].cosine == 0.85
    data = json.loads((tmp_path / "metadata.json").read_text())
    data["far_calibration"] = None
    (tmp_path / "metadata.json").write_text(json.dumps(data))
    with pytest.raises(MetadataError, match="have a far_margin but far_calibration is missing"):
        ModelMetadata.load(tmp_path)
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        minimal_metadata(
            operating_points=[{**STRICT, "far_margin": 0.5}], far_calibration=CALIBRATION
        )


def test_bench_counts_mated_and_nonmated_searches_at_the_rule():
    photos = [Photo(Path(f"{i}"), f"p{i // 2}", "s") for i in range(8)] + [
        Photo(Path("x"), "q", "s")
    ]
    rng = np.random.default_rng(0)
    people = rng.normal(size=(5, 16))
    rows = np.repeat(people, 2, axis=0)[:9] + 0.05 * rng.normal(size=(9, 16))
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    metadata = minimal_metadata(operating_points=[{**STRICT, "cosine": 0.9}])
    result = measure(rows, photos, {"served": rule_of(metadata, 0.01)})
    assert result["gallery"] == 4 and result["rank1"] == 1.0
    assert result["nonmated_searches"] == {"unenrolled_people": 1, "left_out": 4}
    assert result["served"]["fnir"] == 0.0 and result["served"]["fpir"] == 0.0
    assert interval(0, 10)[0] == 0.0 and interval(10, 10)[1] == 1.0


def test_photos_without_a_detected_face_are_left_out_and_cached(tmp_path):
    split = tmp_path / "split.json"
    people = ["celeba_heldout/07238", "scenes/none"]
    split.write_text(json.dumps({"heldout_identities": people}))
    photos = heldout_photos(split, FACES)
    cache = tmp_path / "cache.npz"
    embedded = embed_photos(TINY_MODEL, photos, cache)
    assert len(photos) == 3 and cache.is_file()
    assert [p.identity for p in embedded.photos] == ["celeba_heldout/07238"] * 2
    assert sum(embedded.methods.values()) == 3 and embedded.methods.get("detected") == 2
    again = embed_photos(Path("no/such/model"), photos, cache)  # every photo read from the cache
    assert np.array_equal(again.embeddings, embedded.embeddings)
