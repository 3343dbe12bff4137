"""bench.embed_speed, issue 44's one command, runs end to end on the tiny model fixture.

It needs ``wrk``: without it the test skips, except with ``CI=true`` (``.ci/run`` installs it).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bench import embed_speed
from bench.wrk_load import wrk_available
from tests.fixture_paths import TINY_MODEL

if not wrk_available() and os.environ.get("CI") == "true":
    raise RuntimeError("CI must run the embed_speed test: apt-get install wrk")


@pytest.mark.slow
@pytest.mark.skipif(not wrk_available(), reason="wrk is not installed (apt-get install wrk)")
def test_one_run_gives_bare_and_embed_figures_with_ratios(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embed_speed, "WARM_UP_S", 1.0)
    out = tmp_path / "embed_speed.json"
    argv = ["--model", str(TINY_MODEL), "--seconds", "1", "--connections", "4", "--out", str(out)]
    assert embed_speed.main(argv) == 0
    report = json.loads(out.read_text())
    result = report["precisions"]["float32"]
    assert result["bare"]["images_per_s"] > 0 and result["bare"]["threads"] == 2
    assert result["service"]["settings"] == {"DETECTION": "false", "PRECISION": "float32"}
    assert list(report["precisions"]) == ["float32"] and "accuracy" not in report
    for count in ("1", "8"):
        assert result["service"]["runs"][count]["images_per_s"] > 0
        assert result["ratio_to_bare"][count] == pytest.approx(
            result["service"]["runs"][count]["images_per_s"] / result["bare"]["images_per_s"]
        )
        assert result["cpu_ratio_to_bare"][count] > 0
    assert {"cpu_model", "vnni", "amx", "load_average"} <= report["machine"].keys()


def test_each_precision_is_asked_for_explicitly() -> None:
    assert embed_speed.server_settings("float32", []) == {
        "DETECTION": "false",
        "PRECISION": "float32",
    }
    assert embed_speed.server_settings("int8", ["FACEVERIFY_THREADS=2"]) == {
        "DETECTION": "false",
        "PRECISION": "int8",
        "THREADS": "2",
    }
    with pytest.raises(ValueError, match="NAME=VALUE"):
        embed_speed.server_settings("float32", ["THREADS"])


def test_face_crops_are_model_sized_jpegs() -> None:
    crops = embed_speed.face_crops(TINY_MODEL, count=8)
    assert len(crops) == 8 and all(crop[:2] == b"\xff\xd8" for crop in crops)
