"""The data-scaling summary: EER change from each share of the people to the next."""

from __future__ import annotations

import pytest

from research.people_scaling import doublings


def test_each_step_reports_its_change_and_its_change_per_doubling():
    runs = [
        {"training_people": 400, "celeba_eer": 0.20},
        {"training_people": 100, "celeba_eer": 0.30},
        {"training_people": 200, "celeba_eer": 0.26},
    ]
    steps = doublings(runs, "celeba")
    assert [(s["from_people"], s["to_people"]) for s in steps] == [(100, 200), (200, 400)]
    assert [s["eer_change"] for s in steps] == pytest.approx([-0.04, -0.06])


def test_a_fourfold_step_is_two_doublings_and_one_run_has_no_steps():
    runs = [{"training_people": 100, "wild_eer": 0.3}, {"training_people": 400, "wild_eer": 0.2}]
    assert doublings(runs, "wild")[0]["eer_change_per_doubling"] == pytest.approx(-0.05)
    assert doublings(runs[:1], "wild") == []
