"""Smoke test of the face_recognition comparison on fixture photos with the tiny model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench import peer_compare
from bench.peer.dlib_peer import peer_missing
from bench.peer.embedders import Embedded
from bench.peer.report import DOCS_BEGIN, DOCS_END, write_docs
from bench.peer.scoring import PairSet, pair_scores


def test_pairs_without_embedding_score_below_every_real_pair():
    unit = np.array([1.0, 0.0], dtype=np.float32)
    results = [Embedded(unit, 0.0), Embedded(-unit, 0.0), Embedded(None, 0.0)]
    pairs = PairSet(np.array([0, 0, 1]), np.array([1, 2, 2]), np.array([False, True, True]))
    scores = pair_scores(results, pairs, "cosine")
    assert scores[0] == pytest.approx(-1.0)
    assert np.isfinite(scores).all() and scores[1] < scores[0] and scores[2] == scores[1]


def test_write_docs_replaces_only_the_marked_section(tmp_path):
    docs = tmp_path / "benchmarks.md"
    docs.write_text(f"intro\n{DOCS_BEGIN}\nold\n{DOCS_END}\noutro\n")
    write_docs("| new |\n", "python -m bench.peer_compare --quick", docs)
    text = docs.read_text()
    assert "old" not in text and "| new |" in text
    assert text.startswith("intro\n") and text.endswith(f"{DOCS_END}\noutro\n")


@pytest.mark.slow
def test_quick_run_reports_our_figures_and_the_peer_or_why_not(tmp_path, capsys):
    status = peer_compare.main(["--quick", "--no-progress", "--out", str(tmp_path)])
    assert status == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert (tmp_path / "roc.png").stat().st_size > 0
    ours = report["systems"]["ours"]
    assert ours["faces"]["images"] == report["data"]["images"] > 0
    assert ours["timing"]["images_per_s"] > 0
    assert 0.0 <= ours["all_pairs"]["eer"] <= 1.0
    assert 0.0 <= ours["all_pairs"]["accuracy"]["mean"] <= 1.0
    assert report["pairs"]["all"]["genuine"] > 0 and report["pairs"]["all"]["impostor"] > 0
    assert report["http"]["timing"]["images"] == report["data"]["images"]
    assert report["http"]["no_face"] == ours["faces"]["no_face"]
    peer = report["systems"]["peer"]
    if peer_missing():
        assert "pip install" in peer["skipped"]
        assert "Skipped: peer skipped" in capsys.readouterr().out
    else:
        assert peer["timing"]["images"] == report["data"]["images"]
        assert 0.0 <= peer["all_pairs"]["eer"] <= 1.0
