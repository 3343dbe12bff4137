"""The teacher's mirror view: its cache, targets averaged over views, and a run that uses them."""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

from tests.teacher_factory import embedded_cache, needs_dlib
from training.cli import main
from training.teacher.cache import (
    TeacherInfo,
    load_teacher_embeddings,
    load_view_average,
    read_info,
    teacher_dir,
    write_info,
    write_part,
)

INFO = TeacherInfo(name="t", dimension=2, alignment="a")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """The fixture cache embedded as cut and mirrored."""
    out = embedded_cache(tmp_path_factory.mktemp("mirror"))
    assert main(["teacher", "--cache", str(out), "--workers", "1", "--view", "mirror"]) == 0
    return out


@needs_dlib
def test_the_mirror_view_embeds_every_crop_in_its_own_folder(cache):
    original = load_teacher_embeddings(cache)
    mirror = load_teacher_embeddings(cache, "mirror")
    assert sorted(mirror.index) == sorted(original.index)
    rows = [mirror.index[key] for key in original.index]
    cosines = np.sum(original.vectors * mirror.vectors[rows], axis=1)
    assert np.all(cosines > 0.9) and np.all(cosines < 0.9999)  # the same face, another chip
    assert "mirrored" in read_info(cache, "mirror").alignment
    assert "mirrored" not in read_info(cache).alignment
    report = json.loads((teacher_dir(cache, "mirror") / "report.json").read_text())
    assert report["view"] == "mirror" and report["embedded"] == len(original.index)


@needs_dlib
@pytest.mark.slow
def test_a_run_learns_targets_averaged_over_both_views(cache, tmp_path):
    out = tmp_path / "run"
    flags = f"--data {cache}/celeba --data {cache}/orl --teacher {cache} --distill projection"
    flags += " --channels 3 --teacher-views original mirror"
    args = ["train", "--preset", "smoke", "--out", str(out), "--verbose", "0", *flags.split()]
    assert main(args) == 0
    assert json.loads((out / "config.json").read_text())["teacher_views"] == ["original", "mirror"]


def test_views_without_a_teacher_cache_are_refused(tmp_path):
    args = ["train", "--preset", "smoke", "--out", str(tmp_path / "run"), "--verbose", "0"]
    args += ["--data", str(tmp_path), "--teacher-views", "mirror"]
    with pytest.raises(SystemExit, match="--teacher-views"):
        main(args)


def fake_view(cache, view: str, vectors: dict[str, list[float]], info=INFO) -> None:
    """Write a teacher view of ``cache`` holding ``vectors`` by crop key."""
    write_info(cache, info, view)
    matrix = np.asarray(list(vectors.values()), np.float32)
    write_part(cache, list(vectors), matrix / np.linalg.norm(matrix, axis=1, keepdims=True), view)


def test_the_average_of_views_is_the_unit_mean_of_crops_both_views_have(tmp_path):
    fake_view(tmp_path, "original", {"a.png": [1, 0], "b.png": [0, 1], "c.png": [1, 1]})
    fake_view(tmp_path, "mirror", {"a.png": [0, 1], "b.png": [0, 1]})
    average = load_view_average(tmp_path, ["original", "mirror"])
    assert sorted(average.index) == ["a.png", "b.png"]  # c.png: the mirror view lacks it
    assert np.allclose(average.vectors[average.index["a.png"]], np.sqrt([0.5, 0.5]))
    assert np.allclose(average.vectors[average.index["b.png"]], [0, 1])
    assert "mean of views original, mirror" in average.info.alignment
    alone = load_view_average(tmp_path, ["original"])
    assert alone.info == INFO and len(alone.index) == 3


def test_views_must_be_distinct_and_of_one_teacher(tmp_path):
    fake_view(tmp_path, "original", {"a.png": [1, 0]})
    fake_view(tmp_path, "mirror", {"a.png": [1, 0]}, TeacherInfo("other", 2, "a"))
    with pytest.raises(ValueError, match="distinct"):
        load_view_average(tmp_path, ["original", "original"])
    with pytest.raises(ValueError, match="different teachers"):
        load_view_average(tmp_path, ["original", "mirror"])
    with pytest.raises(ValueError, match="unknown teacher view"):
        teacher_dir(tmp_path, "upside_down")
