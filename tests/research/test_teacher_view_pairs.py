"""``research.teacher_view_pairs``: the teacher's cached views scored on the same pairs."""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest

from research.teacher_view_pairs import main as view_pairs
from tests.teacher_factory import embedded_cache, needs_dlib
from training.cli import main

pytestmark = needs_dlib


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """The fixture cache embedded as cut and mirrored."""
    out = embedded_cache(tmp_path_factory.mktemp("mirror"))
    assert main(["teacher", "--cache", str(out), "--workers", "1", "--view", "mirror"]) == 0
    return out


def test_the_teacher_views_score_the_same_pairs(cache, tmp_path):
    out = tmp_path / "views.json"
    argv = ["--cache", str(cache), "--data", f"celeba={cache}/celeba", "--resamples", "20"]
    assert view_pairs([*argv, "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["pairs"] == 3 and result["pairs_without_vectors"] == 0  # 1 genuine, 2 not
    assert set(result["variants_against_raw"]) == {"mirror", "mean"}
    assert 0 <= result["variants_against_raw"]["mean"]["eer"]["b"] <= 1
