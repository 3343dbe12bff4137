"""``research.teacher_agreement`` on a distilled smoke run: the run's own hint loss, per group."""

import csv
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest

from research.teacher_agreement import GROUPS, agreement
from tests.teacher_factory import embedded_cache, needs_dlib
from training.cli import main

pytestmark = [needs_dlib, pytest.mark.slow]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A smoke run distilled from the fixture cache, with held-out and validation images."""
    root = tmp_path_factory.mktemp("agreement")
    cache = embedded_cache(root)
    out = root / "run"
    flags = f"--data {cache}/celeba --data {cache}/orl --teacher {cache} --distill projection"
    flags += " --channels 3 --split identity --holdout-fraction 0.5 --validation-fraction 0.5"
    assert (
        main(["train", "--preset", "smoke", "--out", str(out), "--verbose", "0"] + flags.split())
        == 0
    )
    return out


def test_every_group_of_the_split_is_scored(run):
    result = agreement(run / "final.keras", sample=100, seed=0)
    split = json.loads((run / "split.json").read_text())
    for group in GROUPS:
        assert result[group]["all"]["images"] == len(split[group]) > 0
        assert 0.0 <= result[group]["all"]["mean"] <= 2.0


def test_validation_figure_is_the_runs_own_validation_hint_loss(run):
    """Same weights, images and centring as the run's last ``val_projection_loss``."""
    with (run / "history.csv").open() as rows:
        last_epoch = list(csv.DictReader(rows))[-1]
    result = agreement(run / "final.keras", sample=100, seed=0)
    expected = float(last_epoch["val_projection_loss"])
    assert result["validation"]["all"]["mean"] == pytest.approx(expected, abs=2e-3)
