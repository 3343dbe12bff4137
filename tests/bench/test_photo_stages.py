"""bench.photo_stages: the comparison of two runs' outcomes and embeddings."""

from __future__ import annotations

import numpy as np
import pytest

from bench.photo_stages import compare


def test_compare_counts_changed_outcomes_and_the_least_cosine(tmp_path):
    before = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [1.0, 1.0]], np.float32)
    saved = tmp_path / "before.npz"
    outcomes = ["embedded", "embedded", "NoFaceError", "embedded"]
    np.savez(saved, embeddings=before, outcomes=np.array(outcomes))
    after = before.copy()
    after[1] = [0.6, 0.8]
    now = ["embedded", "embedded", "NoFaceError", "LowQualityFaceError"]
    result = compare(saved, after, now)
    assert result["outcomes_changed"] == 1
    assert result["compared"] == 2  # embedded both times
    assert result["identical"] == 1
    assert result["min_cosine"] == pytest.approx(0.8)
