"""The data-scaling summary's fit of held-out EER against the number of training people."""

from __future__ import annotations

import pytest

from bench.people_scaling import log_fit


def test_the_fit_recovers_a_log_linear_trend_and_where_it_reaches_ten_percent():
    runs = [
        {"training_people": n, "celeba_eer": 0.30 - 0.02 * k}
        for k, n in [(8, 256), (9, 512), (10, 1024)]
    ]
    fit = log_fit(runs, "celeba")
    assert fit["eer_change_per_doubling"] == pytest.approx(-0.02)
    assert fit["people_at_eer_0.10"] == pytest.approx(1024.0)


def test_no_fit_from_fewer_than_three_runs_nor_a_target_without_a_falling_trend():
    assert log_fit([{"training_people": 10, "wild_eer": 0.2}] * 2, "wild") is None
    flat = [{"training_people": n, "wild_eer": 0.2 + n * 1e-5} for n in (100, 200, 400)]
    assert log_fit(flat, "wild")["people_at_eer_0.10"] is None
