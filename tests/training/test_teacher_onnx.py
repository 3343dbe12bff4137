"""``training teacher --backend onnx``: the converted network through ONNX Runtime, no dlib."""

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

from facecore.detect import Face
from tests.teacher_factory import assert_knows_who_is_who, needs_dlib, prepared_cache
from training.cli import main
from training.teacher import cache as teacher_cache
from training.teacher import dlib_backend as teacher_dlib
from training.teacher import onnx_backend as teacher_onnx

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "dlib-resnet-v1"
CROPS = 9  # 3 CelebA + 4 ORL + 2 unlabelled
# Lowest cosine between dlib's vector and the ONNX backend's of one fixture crop: measured
# 0.985 (single-view export) and 0.989 (mirror-averaged), 0.990-0.998 mean; the rest is the
# chip (our detector's landmarks and template vs dlib's 5 points), not the network.
MIN_AGREEMENT = 0.97
MIN_MEAN_AGREEMENT = 0.985


def onnx_teacher(cache: Path, *flags: str) -> int:
    """``training teacher --backend onnx`` on ``cache`` with one worker."""
    return main(["teacher", "--cache", str(cache), "--workers", "1", "--backend", "onnx", *flags])


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """The fixture photos prepared, without teacher vectors."""
    return prepared_cache(tmp_path_factory.mktemp("teacher_onnx"))


@pytest.fixture(scope="module")
def cache(prepared, tmp_path_factory):
    """The prepared cache embedded by the shipped export in two runs: 4 crops, then the rest."""
    out = tmp_path_factory.mktemp("embedded") / "cache"
    shutil.copytree(prepared, out)
    with pytest.MonkeyPatch.context() as patch:  # importing dlib now fails: the backend needs none
        patch.setitem(sys.modules, "dlib", None)
        patch.setitem(sys.modules, "face_recognition_models", None)
        assert onnx_teacher(out, "--limit", "4") == 0
        assert onnx_teacher(out) == 0
    return out


def test_every_crop_gets_a_unit_128_d_vector_without_dlib(cache):
    teacher = teacher_cache.load_teacher_embeddings(cache)
    assert teacher.vectors.shape == (CROPS, 128)
    assert sorted(teacher.index) == sorted(str(p.relative_to(cache)) for p in cache.rglob("*.png"))
    assert np.allclose(np.linalg.norm(teacher.vectors, axis=1), 1.0, atol=1e-5)
    report = json.loads((teacher_cache.teacher_dir(cache) / "report.json").read_text())
    assert (report["backend"], report["embedded"], report["failed"]) == ("onnx", CROPS, 0)


def test_the_cache_records_which_export_made_the_vectors(cache):
    info = teacher_cache.read_info(cache)
    metadata = json.loads((SHIPPED / "metadata.json").read_text())
    assert (info.backend, info.name, info.version) == ("onnx", "dlib-resnet-v1", "1.0.0")
    assert info.sha256 == hashlib.sha256((SHIPPED / "model.onnx").read_bytes()).hexdigest()
    assert info.source_sha256 == metadata["training"]["source"]["sha256"]
    assert info.mirror_averaged is True and "dlib_chip 150 px" in info.alignment


def test_runs_resume_and_a_rerun_computes_nothing(cache):
    parts = sorted((teacher_cache.teacher_dir(cache) / "parts").iterdir())
    assert [len(np.load(part)["keys"]) for part in parts] == [4, CROPS - 4]
    assert onnx_teacher(cache) == 0
    assert sorted((teacher_cache.teacher_dir(cache) / "parts").iterdir()) == parts


def test_the_vectors_know_who_is_who(cache):
    assert_knows_who_is_who(cache)


def test_a_cache_of_the_dlib_backend_is_not_resumed_by_onnx(prepared, tmp_path):
    copy = tmp_path / "cache"
    shutil.copytree(prepared, copy)
    teacher_cache.write_info(copy, teacher_dlib.TEACHER)
    with pytest.raises(SystemExit, match="another teacher .*backend 'dlib' != 'onnx'"):
        onnx_teacher(copy)
    assert not (teacher_cache.teacher_dir(copy) / "parts").exists()


@needs_dlib
def test_a_cache_of_the_onnx_backend_is_not_resumed_by_dlib(cache):
    with pytest.raises(SystemExit, match="another teacher .*backend 'onnx' != 'dlib'"):
        main(["teacher", "--cache", str(cache), "--workers", "1"])


def test_the_mirror_view_of_a_mirror_averaged_export_is_refused(cache):
    with pytest.raises(SystemExit, match="is mirror-averaged.*--view mirror would repeat"):
        onnx_teacher(cache, "--view", "mirror")
    assert not teacher_cache.teacher_dir(cache, "mirror").exists()


def test_model_belongs_to_the_onnx_backend_and_must_be_an_export(cache, tmp_path):
    with pytest.raises(SystemExit, match="--model is for --backend onnx"):
        main(["teacher", "--cache", str(cache), "--model", str(SHIPPED)])
    with pytest.raises(SystemExit, match="metadata"):
        onnx_teacher(cache, "--model", str(tmp_path))


def test_a_teacher_record_written_before_the_backends_reads_as_dlibs(tmp_path):
    folder = teacher_cache.teacher_dir(tmp_path)
    folder.mkdir()
    old = {"name": teacher_dlib.TEACHER.name, "dimension": 128}
    old["alignment"] = teacher_dlib.TEACHER.alignment
    (folder / "teacher.json").write_text(json.dumps(old))
    assert teacher_cache.read_info(tmp_path) == teacher_dlib.TEACHER
    (folder / "teacher.json").write_text(json.dumps({**old, "colour": "blue"}))
    with pytest.raises(ValueError, match="not a teacher record"):
        teacher_cache.read_info(tmp_path)


def test_views_of_two_backends_are_not_averaged(tmp_path):
    dlib = teacher_cache.TeacherInfo("t", 2, "a")
    onnx = teacher_cache.TeacherInfo(
        "t", 2, "a, chip mirrored left to right", backend="onnx", sha256="ab"
    )
    for view, info in (("original", dlib), ("mirror", onnx)):
        teacher_cache.write_info(tmp_path, info, view)
        teacher_cache.write_part(tmp_path, ["a.png"], np.array([[1.0, 0.0]], np.float32), view)
    with pytest.raises(ValueError, match="different teachers"):
        teacher_cache.load_view_average(tmp_path, ["original", "mirror"])


def face(x: float, y: float, side: float) -> Face:
    return Face((x, y, side, side), 0.9, np.zeros((6, 2), np.float32))


def test_the_detection_of_the_prepare_box_is_chosen():
    faces = [face(0, 0, 50), face(100, 100, 40)]
    assert teacher_onnx.matching_face(faces, [98, 102, 40, 40]) is faces[1]
    with pytest.raises(ValueError, match="best IoU: 0.0"):
        teacher_onnx.matching_face(faces, [300, 300, 40, 40])
    with pytest.raises(ValueError, match="no detection"):
        teacher_onnx.matching_face([], [0, 0, 40, 40])


@pytest.fixture(scope="module")
def dlib_cache(prepared, tmp_path_factory):
    """The prepared cache embedded by dlib itself, as cut and mirrored."""
    out = tmp_path_factory.mktemp("dlib") / "cache"
    shutil.copytree(prepared, out)
    for view in ("original", "mirror"):
        assert main(["teacher", "--cache", str(out), "--workers", "1", "--view", view]) == 0
    return out


def cosines(first, second) -> np.ndarray:
    """Cosine of each crop's vectors in two loaded caches (same crops)."""
    assert sorted(first.index) == sorted(second.index)
    rows = [second.index[key] for key in first.index]
    return np.sum(first.vectors[list(first.index.values())] * second.vectors[rows], axis=1)


def assert_agree(first, second) -> None:
    found = cosines(first, second)
    assert found.min() > MIN_AGREEMENT and found.mean() > MIN_MEAN_AGREEMENT, found


@needs_dlib
def test_the_shipped_export_agrees_with_dlib(cache, dlib_cache):
    assert_agree(
        teacher_cache.load_teacher_embeddings(dlib_cache),
        teacher_cache.load_teacher_embeddings(cache),
    )
    both_views = teacher_cache.load_view_average(dlib_cache, ["original", "mirror"])
    assert_agree(both_views, teacher_cache.load_teacher_embeddings(cache))


@pytest.fixture(scope="module")
def single_view(tmp_path_factory):
    """A single-view export of dlib's network (``convert-dlib`` without --mirror-average)."""
    pytest.importorskip("keras")
    out = tmp_path_factory.mktemp("single") / "dlib-single"
    assert main(["convert-dlib", "--out", str(out), "--no-saved-model"]) == 0
    return out


@needs_dlib
@pytest.mark.slow
def test_a_single_view_export_agrees_with_dlib_in_both_views(
    prepared, dlib_cache, single_view, tmp_path
):
    out = tmp_path / "cache"
    shutil.copytree(prepared, out)
    assert onnx_teacher(out, "--model", str(single_view)) == 0
    assert onnx_teacher(out, "--model", str(single_view), "--view", "mirror") == 0
    assert teacher_cache.read_info(out).mirror_averaged is False
    assert "mirrored" in teacher_cache.read_info(out, "mirror").alignment
    for view in ("original", "mirror"):
        assert_agree(
            teacher_cache.load_teacher_embeddings(dlib_cache, view),
            teacher_cache.load_teacher_embeddings(out, view),
        )
    mirrored = cosines(
        teacher_cache.load_teacher_embeddings(out),
        teacher_cache.load_teacher_embeddings(out, "mirror"),
    )
    assert np.all(mirrored < 0.9999)  # another chip, not the same vector again
    with pytest.raises(SystemExit, match="sha256 .*mirror_averaged False != True"):
        onnx_teacher(out)  # the shipped, mirror-averaged export on a single-view cache
