"""``training morph`` on real fixture photos: what the student and the teacher are given."""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2
import numpy as np
import pytest

from tests.teacher_factory import embedded_cache, needs_dlib
from training.cli import main
from training.data.folders import ImageRecord
from training.teacher.cache import load_teacher_embeddings
from training.teacher.morphs import check_sources, read_plan

pytestmark = needs_dlib
HELD_OUT = "orl/s1/2.png"  # a photo of a training person that the split does not train on


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """The embedded fixture cache, a split training on CelebA and 3 ORL photos, and 6 morphs."""
    cache = embedded_cache(tmp_path_factory.mktemp("morph"))
    train = [
        {"path": str(path), "identity": path.parent.name}
        for path in sorted((cache / "celeba").rglob("*.png")) + sorted(cache.glob("orl/*/*.png"))
    ]
    train = [row for row in train if not row["path"].endswith(HELD_OUT)]
    (cache / "split.json").write_text(json.dumps({"train": train}))
    assert morph(cache, "six", "--count", "6") == 0
    return cache


def morph(cache, name, *flags):
    """``training morph`` on ``cache`` with its split."""
    split = str(cache / "split.json")
    return main(["morph", "--cache", str(cache), "--split", split, "--name", name, *flags])


def read_rgb(path):
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB).astype(float)


def test_each_morph_blends_two_training_people_with_its_weight(cache):
    plan = read_plan(cache / "morphs" / "six")
    train = {
        row["path"]: row["identity"]
        for row in json.loads((cache / "split.json").read_text())["train"]
    }
    assert len(plan.sources) == 6
    assert HELD_OUT not in {key for row in plan.sources for key in row[:2]}
    for number, (first, second, weight) in enumerate(plan.sources):
        assert train[str(cache / first)] != train[str(cache / second)]
        assert 0.3 <= weight <= 0.7
        expected = weight * read_rgb(cache / first) + (1 - weight) * read_rgb(cache / second)
        student = read_rgb(cache / "morphs" / "six" / f"m{number:06d}.png")
        assert np.abs(student - expected).max() <= 1.0


def test_the_teacher_places_a_morph_between_its_two_people(cache):
    teacher = load_teacher_embeddings(cache)
    vector = {key: teacher.vectors[row] for key, row in teacher.index.items()}
    plan = read_plan(cache / "morphs" / "six")
    for number, (first, second, _) in enumerate(plan.sources):
        morphed = vector[f"morphs/six/m{number:06d}.png"]
        apart = vector[first] @ vector[second]
        assert morphed @ vector[first] > apart and morphed @ vector[second] > apart


def test_rerun_resumes_and_other_settings_are_refused(cache):
    parts = sorted((cache / "teacher" / "parts").iterdir())
    assert morph(cache, "six", "--count", "6") == 0
    assert sorted((cache / "teacher" / "parts").iterdir()) == parts
    with pytest.raises(SystemExit, match="other settings"):
        morph(cache, "six", "--count", "7")


@pytest.mark.parametrize("flags", [["--count", "0"], ["--weight-low", "0.6"]])
def test_impossible_settings_are_refused_in_one_line(cache, flags):
    with pytest.raises(SystemExit, match="invalid morph settings"):
        morph(cache, "bad", *flags)
    assert not (cache / "morphs" / "bad").exists()


def test_training_refuses_morphs_of_people_it_does_not_train_on(cache):
    train = [
        ImageRecord(cache / row["path"], row["identity"], "celeba")
        for row in json.loads((cache / "split.json").read_text())["train"]
    ]
    morphs = str(cache / "morphs" / "six")
    check_sources([morphs, str(cache / "unlabelled")], train)
    used = {key for row in read_plan(cache / "morphs" / "six").sources for key in row[:2]}
    dropped = min(used)
    fewer = [record for record in train if str(record.path.relative_to(cache)) != dropped]
    with pytest.raises(ValueError, match="1 source image"):
        check_sources([morphs], fewer)
