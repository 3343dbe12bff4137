"""training compare: two models on the same pairs, with a people-bootstrap interval."""

import json
import shutil

import numpy as np
import pytest
from test_evaluate import TINY_MODEL, write_faces

from training.cli import main
from training.evaluation.bootstrap import PairOwners, compare_models


def synthetic_pairs(people: int = 30, seed: int = 0) -> tuple[PairOwners, np.ndarray]:
    """Three genuine pairs per person and impostor pairs between neighbours; random scores."""
    rng = np.random.default_rng(seed)
    first, second, labels = [], [], []
    for person in range(people):
        name, other = f"p{person}", f"p{(person + 1) % people}"
        first += [name] * 3 + [name] * 3
        second += [name] * 3 + [other] * 3
        labels += [True] * 3 + [False] * 3
    owners = PairOwners.from_identities(first, second, labels)
    return owners, rng.normal(0.0, 1.0, len(labels))


def test_pair_weights_count_genuine_by_draws_and_impostors_by_product():
    owners = PairOwners.from_identities(["a", "a", "b"], ["a", "b", "c"], [True, False, False])
    draws = np.array([2, 3, 0])  # a twice, b three times, c never
    np.testing.assert_array_equal(owners.weights(draws), [2, 6, 0])
    assert owners.people == 3


def test_a_model_against_itself_differs_by_exactly_nothing():
    owners, scores = synthetic_pairs()
    result = compare_models(owners, scores, scores.copy(), resamples=200, seed=0)
    for row in result.values():
        assert row["difference"] == 0.0 and row["ci95"] == [0.0, 0.0]
        assert row["a_ci95"] == row["b_ci95"] and row["a_ci95"][0] <= row["a"] <= row["a_ci95"][1]
        assert row["share_b_better"] == 0.0 and row["resamples"] == 200


def test_a_clearly_better_model_has_an_interval_on_its_side():
    owners, scores = synthetic_pairs()
    better = scores + np.where(owners.labels, 2.0, 0.0)  # genuine pairs score higher
    eer = compare_models(owners, scores, better, resamples=300, seed=1)["eer"]
    assert eer["b"] < eer["a"] and eer["ci95"][1] < 0.0 and eer["share_b_better"] > 0.99


def test_noise_gives_an_interval_around_zero():
    owners, scores = synthetic_pairs(people=40)
    other = scores + np.random.default_rng(5).normal(0.0, 0.3, len(scores))
    low, high = compare_models(owners, scores, other, resamples=300, seed=2)["eer"]["ci95"]
    assert low < 0.0 < high


def test_scores_must_match_the_pairs():
    owners, scores = synthetic_pairs()
    with pytest.raises(ValueError, match="pairs but"):
        compare_models(owners, scores, scores[:-1], resamples=100, seed=0)


def test_cli_compares_two_exports_on_the_same_pairs(tmp_path, capsys):
    data = write_faces(tmp_path / "faces")
    a = shutil.copytree(TINY_MODEL, tmp_path / "a")
    b = shutil.copytree(TINY_MODEL, tmp_path / "b")
    out = tmp_path / "compare.json"
    argv = ["compare", "--models", str(a), str(b), "--data", str(data), "--impostors", "40"]
    assert main([*argv, "--resamples", "100", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["genuine_pairs"] == 4 * 6 and result["impostor_pairs"] == 40
    assert result["people"] == 4
    assert result["metrics"]["eer"]["difference"] == 0.0
    assert "B-A +0.0000" in capsys.readouterr().out


def test_cli_refuses_too_few_resamples(tmp_path):
    data = write_faces(tmp_path / "faces")
    argv = ["compare", "--models", str(TINY_MODEL), str(TINY_MODEL), "--data", str(data)]
    with pytest.raises(SystemExit, match="at least 100"):
        main([*argv, "--resamples", "10"])


def test_cli_needs_people_to_compare_on():
    with pytest.raises(SystemExit, match="give --data"):
        main(["compare", "--models", str(TINY_MODEL), str(TINY_MODEL)])


def test_cli_names_a_model_that_is_not_an_export(tmp_path):
    data = write_faces(tmp_path / "faces")
    argv = ["compare", "--models", str(TINY_MODEL), str(tmp_path / "missing"), "--data", str(data)]
    with pytest.raises(SystemExit, match=r"training compare: error: .*missing is not a directory"):
        main(argv)


def prepared_copy(faces, cache, alignment: str):
    """Copy ``faces`` into ``cache`` as if ``prepare --alignment ALIGNMENT`` had made it."""
    shutil.copytree(faces, cache / "faces")
    settings = {"size": 32, "alignment": alignment}
    (cache / "prepare_report.json").write_text(json.dumps({"preprocessing": settings}))
    return cache / "faces"


def export_aligned(tmp_path, name: str, alignment: str):
    model = shutil.copytree(TINY_MODEL, tmp_path / name)
    metadata = json.loads((model / "metadata.json").read_text())
    metadata["preprocessing"]["alignment"] = alignment
    (model / "metadata.json").write_text(json.dumps(metadata))
    return model


def test_models_aligned_differently_read_their_own_crops_of_the_same_photos(tmp_path):
    faces = write_faces(tmp_path / "faces")
    crops_a = prepared_copy(faces, tmp_path / "cache_a", "arcface")
    crops_b = prepared_copy(faces, tmp_path / "cache_b", "dlib_chip")
    a, b = export_aligned(tmp_path, "a", "arcface"), export_aligned(tmp_path, "b", "dlib_chip")
    argv = ["compare", "--models", str(a), str(b), "--data", str(crops_a), "--resamples", "100"]
    with pytest.raises(SystemExit, match=r"B .*prepared with size 32, alignment 'arcface'"):
        main(argv)  # B would be scored on crops framed for A
    out = tmp_path / "compare.json"
    assert main([*argv, "--data-b", str(crops_b), "--out", str(out)]) == 0
    assert json.loads(out.read_text())["metrics"]["eer"]["difference"] == 0.0  # same pixels
    next(crops_b.glob("*/*")).unlink()
    with pytest.raises(SystemExit, match="--data-b: .* missing"):
        main([*argv, "--data-b", str(crops_b)])
