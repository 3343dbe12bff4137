"""research.teacher_views on the fixture cache: the teacher's vector of altered chips."""

import json

import pytest

from research import teacher_views
from tests.teacher_factory import embedded_cache, needs_dlib

pytestmark = needs_dlib


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return embedded_cache(tmp_path_factory.mktemp("views"))


def test_every_alteration_is_scored_against_its_original(cache, tmp_path, monkeypatch):
    monkeypatch.setattr(teacher_views, "SOURCES", ("celeba",))
    out = tmp_path / "views.json"
    assert teacher_views.main(["--cache", str(cache), "--images", "3", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["photos"] == 3
    for space in ("raw", "centred"):
        altered = result[space]["altered_to_original"]
        assert set(altered) == set(teacher_views.alterations(0))
        for name, cosines in altered.items():
            assert cosines["n"] == 3
            # Still the same face to the teacher, but not an identical vector for the chain.
            assert 0.5 < cosines["p5"] <= cosines["mean"] <= 1.0 + 1e-6, (space, name)
        assert altered["training_chain"]["p5"] < 0.9999
        assert result[space]["between_photos"]["impostor"]["n"] >= 1
    # Centring removes the direction all faces share: strangers move apart.
    impostor = {s: result[s]["between_photos"]["impostor"]["mean"] for s in ("raw", "centred")}
    assert impostor["centred"] < impostor["raw"]


def test_a_cache_without_in_the_wild_photos_is_refused(cache):
    with pytest.raises(SystemExit, match="no celeba_subset photos"):
        teacher_views.main(["--cache", str(cache), "--images", "3"])
