import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import image_factory as images
import numpy as np
import pytest
from PIL import Image

from training.commands import prepare
from training.crops import cache


@pytest.fixture()
def data_root(tmp_path: Path) -> Path:
    """A small set: two ORL people, duplicates, a broken file, a no-face photo, a dark crop."""
    root = tmp_path / "faces_set"
    for person in ("s1", "s2", "s3"):
        (root / person).mkdir(parents=True)
    for source in images.ORL_FACES:
        shutil.copy(source, root / source.parent.name / source.name)
    shutil.copy(root / "s1" / "1.pgm", root / "s1" / "1_copy.pgm")  # same person
    shutil.copy(root / "s1" / "2.pgm", root / "s2" / "stolen.pgm")  # label noise
    (root / "s2" / "broken.jpg").write_bytes(images.truncated_jpeg())
    shutil.copy(images.PHOTO_NO_FACE, root / "s3" / "scene.jpg")
    shutil.copy(images.YALEB_DARK, root / "s3" / "dark.pgm")
    return root


def run_prepare(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    prepare.add_arguments(parser)
    return prepare.run(parser.parse_args(list(argv)))


def read_report(out: Path) -> dict:
    return json.loads((out / cache.REPORT_NAME).read_text())


def test_prepare_writes_mirrored_crops_and_report(data_root, tmp_path):
    out = tmp_path / "cache"
    assert run_prepare("--data", str(data_root), "--out", str(out), "--workers", "1") == 0
    crops = sorted(str(p.relative_to(out)) for p in out.rglob("*.png"))
    assert crops == [
        "faces_set/s1/1.png",
        "faces_set/s2/1.png",
        "faces_set/s2/2.png",
        "faces_set/s3/dark.png",
    ]
    crop = np.asarray(Image.open(out / "faces_set/s1/1.png"))
    assert crop.shape == (112, 112, 3) and crop.dtype == np.uint8
    summary = read_report(out)["sets"]["faces_set"]
    assert summary["images"] == 9 and summary["crops"] == 4
    assert summary["detected"] == 3 and summary["fallback"]["center_crop"] == 1
    assert summary["skipped"] == {
        "no_face": [str(data_root / "s3/scene.jpg")],
        "undecodable": [str(data_root / "s2/broken.jpg")],
    }
    assert summary["duplicates"] == {
        "same_person_removed": [str(data_root / "s1/1_copy.pgm")],
        "label_noise_dropped": [str(data_root / "s1/2.pgm"), str(data_root / "s2/stolen.pgm")],
    }
    assert read_report(out)["preprocessing"]["size"] == 112


def test_prepare_resumes_and_redoes_missing_crops(data_root, tmp_path):
    out = tmp_path / "cache"
    run_prepare("--data", str(data_root), "--out", str(out), "--workers", "1")
    log_lines = (out / cache.LOG_NAME).read_text().splitlines()
    assert len(log_lines) == 6
    run_prepare("--data", str(data_root), "--out", str(out), "--workers", "1")
    assert (out / cache.LOG_NAME).read_text().splitlines() == log_lines
    (out / "faces_set/s2/1.png").unlink()
    run_prepare("--data", str(data_root), "--out", str(out), "--workers", "1")
    assert (out / "faces_set/s2/1.png").is_file()
    assert len((out / cache.LOG_NAME).read_text().splitlines()) == 7
    assert read_report(out)["sets"]["faces_set"]["crops"] == 4


def test_prepare_refuses_to_resume_a_cache_with_other_settings(data_root, tmp_path):
    out = tmp_path / "cache"
    run_prepare("--data", str(data_root), "--out", str(out), "--workers", "1")
    recorded = json.loads((out / "prepare_settings.json").read_text())
    assert recorded["size"] == 112 and recorded["face_policy"] == "largest"
    log_lines = (out / cache.LOG_NAME).read_text().splitlines()
    with pytest.raises(ValueError, match="other settings.*size 112 -> 96"):
        run_prepare("--data", str(data_root), "--out", str(out), "--workers", "1", "--size", "96")
    with pytest.raises(ValueError, match="face_policy 'largest' -> 'most_confident'"):
        argv = ["--data", str(data_root), "--out", str(out), "--face-policy", "most_confident"]
        run_prepare(*argv, "--workers", "1")
    with pytest.raises(ValueError, match="alignment 'arcface' -> 'dlib_chip'"):
        argv = ["--data", str(data_root), "--out", str(out), "--alignment", "dlib_chip"]
        run_prepare(*argv, "--workers", "1")
    assert (out / cache.LOG_NAME).read_text().splitlines() == log_lines  # nothing touched
    assert Image.open(out / "faces_set/s1/1.png").size == (112, 112)


def test_prepare_refuses_a_cache_that_recorded_no_settings(data_root, tmp_path):
    out = tmp_path / "cache"
    run_prepare("--data", str(data_root), "--out", str(out), "--workers", "1")
    (out / "prepare_settings.json").unlink()  # as a cache made before settings were recorded
    with pytest.raises(ValueError, match="did not record its settings"):
        run_prepare("--data", str(data_root), "--out", str(out), "--workers", "1")


def test_prepare_with_worker_processes_and_namespace_root(tmp_path):
    out = tmp_path / "cache"
    orl_root = images.FACES_DIR / "orl"
    argv = ["--data", f"people={orl_root}", "--out", str(out), "--alignment", "dlib_chip"]
    run_prepare(*argv, "--workers", "2", "--size", "96")
    crops = sorted(out.rglob("*.png"))
    assert [str(p.relative_to(out)) for p in crops] == [
        "orl/s1/1.png",
        "orl/s1/2.png",
        "orl/s2/1.png",
        "orl/s2/2.png",
    ]
    assert Image.open(crops[0]).size == (96, 96)
    assert read_report(out)["totals"]["crops"] == 4
    assert read_report(out)["preprocessing"]["alignment"] == "dlib_chip"


def test_prepare_does_not_import_tensorflow(tmp_path):
    code = (
        "import argparse, sys\n"
        "from training.commands import prepare\n"
        "parser = argparse.ArgumentParser(); prepare.add_arguments(parser)\n"
        f"prepare.run(parser.parse_args(['--data', {str(images.FACES_DIR / 'orl')!r}, "
        f"'--out', {str(tmp_path / 'cache')!r}, '--workers', '1']))\n"
        "assert 'tensorflow' not in sys.modules, 'prepare imported TensorFlow'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[2]
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_a_missing_data_root_ends_the_command_with_one_line(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "-m", "training", "prepare", "--out", str(tmp_path / "cache")]
        + ["--data", str(tmp_path / "no_such_set")],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"python -m training prepare: error: data root not found: {tmp_path / 'no_such_set'}"
    )
