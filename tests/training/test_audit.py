"""training audit: crops the teacher places far from their own person are listed, by set."""

import json

import numpy as np
import pytest

from training.cli import main
from training.teacher.cache import TeacherInfo, write_info, write_part
from training.teacher.targets import read_suspects, suspects

DIMENSION = 8


def unit(vector):
    return vector / np.linalg.norm(vector)


def fake_cache(root, rng):
    """Two sets, three people of four crops; one crop of ``b/p2`` is another person's face."""
    directions = {person: rng.normal(size=DIMENSION) for person in ("p1", "p2", "p3")}
    keys, vectors = [], []
    for source, people in {"a": ["p1", "p2"], "b": ["p3"]}.items():
        for person in people:
            for index in range(4):
                crop = root / source / person / f"{index}.png"
                crop.parent.mkdir(parents=True, exist_ok=True)
                crop.write_bytes(b"")  # the audit reads vectors, never pixels
                wrong = (person, index) == ("p2", 3)
                direction = directions["p3" if wrong else person]
                keys.append(f"{source}/{person}/{index}.png")
                vectors.append(unit(direction + 0.3 * rng.normal(size=DIMENSION)))
    write_info(root, TeacherInfo("fake", DIMENSION, "none"))
    write_part(root, keys, np.asarray(vectors))


def test_the_crop_of_another_face_is_the_only_suspect(tmp_path, capsys):
    fake_cache(tmp_path, np.random.default_rng(0))
    out = tmp_path / "audit.json"
    argv = ["audit", "--teacher", str(tmp_path), "--data", str(tmp_path / "a")]
    assert main([*argv, "--data", str(tmp_path / "b"), "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert [item["crop"].rsplit("/", 3)[-3:] for item in report["suspects"]] == [
        ["a", "p2", "3.png"]
    ]
    assert report["suspects_by_source"] == {"a": 1} and report["crops_with_a_vector"] == 12
    assert "3.png" in capsys.readouterr().out
    assert read_suspects(out) == {
        (tmp_path / "a" / "p2" / "3.png").resolve()
    }  # for train --exclude


def test_a_file_that_is_not_an_audit_report_is_refused(tmp_path):
    other = tmp_path / "config.json"
    other.write_text('{"preset": "teacher"}')
    with pytest.raises(ValueError, match="is not a `training audit` report"):
        read_suspects(other)


def test_people_with_too_few_vectors_are_not_judged():
    vectors = np.eye(3, dtype=np.float32)
    mask = np.array([1, 1, 0], np.float32)
    assert suspects(["x", "x", "x"], vectors, mask, below=0.5) == []
