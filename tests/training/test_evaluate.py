import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from fixture_paths import FIXTURES
from PIL import Image

from facecore.metadata import ModelMetadata
from training.cli import main

TINY_MODEL = FIXTURES / "tiny_model"
PEOPLE, IMAGES = 4, 4


@pytest.fixture
def model_dir(tmp_path):
    return Path(shutil.copytree(TINY_MODEL, tmp_path / "model"))


def write_faces(root: Path, suffix: str = ".png", lfw_names: bool = False) -> Path:
    """Per person a random base pattern; each image adds its own noise."""
    rng = np.random.default_rng(0)
    for person in range(PEOPLE):
        name = f"person{person}"
        base = rng.integers(0, 256, (40, 36))
        for index in range(1, IMAGES + 1):
            pixels = np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)
            file = f"{name}_{index:04d}{suffix}" if lfw_names else f"{index}{suffix}"
            (root / name).mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(root / name / file)
    return root


def read_report(out: Path) -> dict:
    assert (out / "roc.png").stat().st_size > 1000
    assert (out / "scores.png").stat().st_size > 1000
    return json.loads((out / "report.json").read_text())


def test_folders_end_to_end(model_dir, tmp_path, capsys):
    data = write_faces(tmp_path / "faces")
    assert (
        main(["evaluate", "--model", str(model_dir), "--data", str(data), "--impostors", "40"]) == 0
    )
    report = read_report(model_dir / "evaluation")
    assert report["genuine_pairs"] == PEOPLE * IMAGES * (IMAGES - 1) // 2
    assert report["impostor_pairs"] == 40
    assert 0.0 <= report["auc"] <= 1.0 and 0.0 <= report["eer"] <= 1.0
    assert len(report["accuracy"]["accuracies"]) == 10
    assert set(report["tar_at_far"]) == {"0.01", "0.001", "0.0001", "1e-05"}
    assert "balanced accuracy (10-fold)" in capsys.readouterr().out
    assert ModelMetadata.load(model_dir).threshold.calibrated is False  # no --calibrate


def test_crops_framed_for_another_model_are_refused(model_dir, tmp_path):
    data = write_faces(tmp_path / "cache" / "faces")
    settings = {"size": 32, "alignment": "dlib_chip"}  # the model (tiny fixture): arcface
    (tmp_path / "cache" / "prepare_report.json").write_text(json.dumps({"preprocessing": settings}))
    with pytest.raises(SystemExit, match="prepared with size 32, alignment 'dlib_chip'"):
        main(["evaluate", "--model", str(model_dir), "--data", str(data)])
    assert not (model_dir / "evaluation").exists()


def test_split_keeps_only_heldout_people(model_dir, tmp_path):
    data = write_faces(tmp_path / "faces")
    heldout = ["faces/person1", "faces/person3"]
    rows = [
        {"path": str(p.resolve()), "identity": f"faces/{p.parent.name}", "source": "faces"}
        for p in sorted(data.glob("*/*"))
        if f"faces/{p.parent.name}" in heldout
    ]
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"heldout_identities": heldout, "heldout": rows}))
    for extra in ([], ["--data", str(data)]):
        out = tmp_path / f"out{len(extra)}"
        assert (
            main(
                [
                    "evaluate",
                    "--model",
                    str(model_dir),
                    "--split",
                    str(split),
                    "--out",
                    str(out),
                    *extra,
                ]
            )
            == 0
        )
        report = read_report(out)
        assert report["genuine_pairs"] == 2 * IMAGES * (IMAGES - 1) // 2
        assert report["impostor_pairs"] == IMAGES * IMAGES  # every cross pair exists once
        assert "held-out people" in report["source"]


def test_lfw_pairs_file_with_folds_and_calibration(model_dir, tmp_path):
    root = write_faces(tmp_path / "lfw", suffix=".png", lfw_names=True)  # a prepared cache
    lines = ["2 3"]
    for fold in range(2):
        lines += [f"person{fold} 1 2", f"person{fold} 3 4", f"person{fold + 2} 1 2"]
        lines += [
            f"person0 {fold + 1} person1 1",
            f"person2 1 person3 {fold + 1}",
            "person1 4 person3 4",
        ]
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("\n".join(lines) + "\n")
    out = tmp_path / "eval"
    assert (
        main(
            [
                "evaluate",
                "--model",
                str(model_dir),
                "--pairs",
                str(pairs),
                "--pairs-root",
                str(root),
                "--out",
                str(out),
                "--far",
                "0.2",
                "--calibrate",
            ]
        )
        == 0
    )
    report = read_report(out)
    assert (report["genuine_pairs"], report["impostor_pairs"]) == (6, 6)
    assert len(report["accuracy"]["accuracies"]) == 2  # the file's two folds
    metadata = ModelMetadata.load(model_dir)
    assert metadata.threshold.calibrated is True
    # 6 impostor pairs measure no FAR target: only the best-accuracy point is stored.
    assert [point.name for point in metadata.operating_points] == ["best_accuracy"]
    best = metadata.operating_points[0]
    assert metadata.threshold.cosine == best.cosine and metadata.far_targets == ()
    assert best.accuracy == pytest.approx((best.tar + 1.0 - best.far) / 2.0)
    assert "pairs.txt" in metadata.threshold.operating_point
    assert metadata.evaluation["eer"] == report["eer"]


def test_missing_pair_images_are_reported(model_dir, tmp_path):
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("Nobody 1 2\n")
    with pytest.raises(SystemExit, match="evaluate: error: 2 images .* missing"):
        main(
            [
                "evaluate",
                "--model",
                str(model_dir),
                "--pairs",
                str(pairs),
                "--pairs-root",
                str(tmp_path),
            ]
        )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--data", "faces"], "drop --data"),
        (["--split", "split.json", "--impostors", "9"], "drop --split, --impostors"),
    ],
)
def test_options_a_pairs_file_would_ignore_are_refused(model_dir, tmp_path, extra, message):
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("Nobody 1 2\n")
    argv = ["evaluate", "--model", str(model_dir), "--pairs", str(pairs)]
    with pytest.raises(SystemExit, match=message):
        main([*argv, "--pairs-root", str(tmp_path), *extra])


def test_a_pairs_root_without_a_pairs_file_is_refused(model_dir, tmp_path):
    with pytest.raises(SystemExit, match="--pairs-root goes with --pairs"):
        main(["evaluate", "--model", str(model_dir), "--pairs-root", str(tmp_path)])
