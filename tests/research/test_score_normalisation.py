"""``research.score_normalisation``: cohort-normalised scores of an export's pairs."""

import json

import numpy as np

from research.score_normalisation import centroid_cohort, cohort_paths, main, normalised_scores
from tests.training.test_evaluate import TINY_MODEL, write_faces


def unit_rows(count: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(count, 8))
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_scores_match_a_pair_by_pair_reference():
    embeddings, cohort = unit_rows(6, 0), unit_rows(20, 1)
    first, second = np.array([0, 1, 2, 3]), np.array([5, 4, 3, 1])
    scores = normalised_scores(embeddings, cohort, first, second, top_k=3)
    for pair, (a, b) in enumerate(zip(first, second, strict=True)):
        nearest = [sorted(cohort @ embeddings[i])[-3:] for i in (a, b)]
        raw = embeddings[a] @ embeddings[b]
        assert np.isclose(scores["raw"][pair], raw)
        assert np.isclose(
            scores["top3_mean"][pair], raw - (np.mean(nearest[0]) + np.mean(nearest[1])) / 2
        )
        as_norm = np.mean([(raw - np.mean(n)) / np.std(n) for n in nearest])
        assert np.isclose(scores["as_norm3"][pair], as_norm)


def test_the_cohort_leaves_out_the_people_it_is_told_to(tmp_path):
    data = write_faces(tmp_path / "faces")
    paths = cohort_paths([str(data)], {"faces/person0", "faces/person2"}, size=10, seed=0)
    assert sorted(p.parent.name for p in paths) == ["person1", "person3"]  # one photo each
    assert cohort_paths([str(data)], {"faces/person0", "faces/person2"}, size=10, seed=0) == paths


def test_end_to_end_on_the_tiny_model(tmp_path):
    pairs_root, cohort_root = write_faces(tmp_path / "pairs"), write_faces(tmp_path / "cohort")
    out = tmp_path / "result.json"
    flags = ["--model", str(TINY_MODEL), "--data", f"a={pairs_root}", "--cohort-data"]
    flags += [f"b={cohort_root}", "--top-k", "2", "--impostors", "30", "--resamples", "100"]
    assert main([*flags, "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["cohort_people"] == 4 and result["people"] == 4
    assert set(result["variants_against_raw"]) == {"top2_mean", "as_norm2"}
    eer = result["variants_against_raw"]["top2_mean"]["eer"]
    assert 0.0 <= eer["a"] <= 1.0 and eer["ci95"][0] <= eer["difference"] <= eer["ci95"][1]


def test_centroids_are_unit_means_of_clusters_and_report_who_is_behind_them():
    rng = np.random.default_rng(0)
    centres = np.eye(8)[:2] * 10
    embeddings = np.concatenate(
        [centres[0] + rng.normal(size=(6, 8)), centres[1] + rng.normal(size=(4, 8))]
    )
    owners = ["p0", "p1", "p2", "p0", "p1", "p2", "q0", "q0", "q1", "q1"]
    centroids, report = centroid_cohort(embeddings, owners, count=2, min_people=2, seed=0)
    assert np.allclose(np.linalg.norm(centroids, axis=1), 1.0)
    assert sorted(np.argmax(np.abs(centroids), axis=1)) == [0, 1]  # one centroid per cluster
    assert report == {"centroids": 2, "kept": 2, "fewest_images": 4, "fewest_people": 2}
    centroids, report = centroid_cohort(embeddings, owners, count=2, min_people=3, seed=0)
    assert np.argmax(np.abs(centroids), axis=1).tolist() == [0]  # q0, q1's cluster dropped
    assert report == {"centroids": 2, "kept": 1, "fewest_images": 6, "fewest_people": 3}


def test_end_to_end_with_a_centroid_cohort(tmp_path):
    pairs_root, cohort_root = write_faces(tmp_path / "pairs"), write_faces(tmp_path / "cohort")
    out = tmp_path / "result.json"
    flags = ["--model", str(TINY_MODEL), "--data", f"a={pairs_root}", "--cohort-data"]
    flags += [f"b={cohort_root}", "--centroids", "2", "--min-people", "1", "--top-k", "1"]
    flags += ["--impostors", "30"]
    assert main([*flags, "--resamples", "50", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["centroids"] == 2 and result["fewest_images"] >= 1
    assert set(result["variants_against_raw"]) == {"top1_mean", "as_norm1"}
