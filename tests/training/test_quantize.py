"""training quantize on the tiny model: a real INT8 graph, its block, and --precision int8."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from fixture_paths import FIXTURES
from int8_factory import int8_block
from metadata_factory import minimal_metadata
from test_evaluate import write_faces

from facecore.file_digest import file_sha256
from facecore.metadata import ModelMetadata
from facecore.model_bundle import ModelBundle
from facecore.onnx_model import OnnxModel
from facecore.operating_points import FarCalibration, OperatingPoint
from facecore.quantized import INT8_FILE
from training.cli import main
from training.evaluation.cross_set import with_strict_points

TINY_MODEL = FIXTURES / "tiny_model"
PHOTOS = FIXTURES / "faces" / "celeba"  # two people, neither held out below
MIN_COSINE = 0.98  # float32 vs INT8 embedding of the same crop, random-weight tiny model


@pytest.fixture
def quantized(tmp_path) -> tuple[Path, Path]:
    model = Path(shutil.copytree(TINY_MODEL, tmp_path / "model"))
    crops = write_faces(tmp_path / "crops")
    split = tmp_path / "split.json"
    heldout = [f"crops/person{i}" for i in range(4)]
    split.write_text(json.dumps({"heldout_identities": heldout}))
    args = ["quantize", "--model", str(model), "--data", f"celeba={PHOTOS}", "--split", str(split)]
    assert main([*args, "--eval-data", str(crops), "--calibration-images", "2"]) == 0
    return model, crops


def test_quantized_model_embeds_like_float32(quantized):
    model, crops = quantized
    float32, int8 = ModelBundle.load(model), ModelBundle.load(model, "int8")
    assert (model / INT8_FILE).stat().st_size > 0
    pixels = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 1)).astype(np.float32)
    a, b = OnnxModel(float32).embed(pixels), OnnxModel(int8).embed(pixels)
    assert b.shape == (8, 16) and np.isfinite(b).all()
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-4)
    assert (a * b).sum(axis=1).min() >= MIN_COSINE


def test_block_records_how_and_what_it_measured(quantized):
    model, _ = quantized
    metadata = ModelMetadata.load(model)
    block = metadata.int8
    assert block.sha256 == file_sha256(model / INT8_FILE)
    assert block.quantization.format == "QOperator"
    assert block.quantization.calibration_method == "Percentile"
    assert block.quantization.calibration_images == 2
    assert block.evaluation.genuine_pairs == 4 * 6
    assert block.within_budget == block.evaluation.within_budget
    assert 0.0 <= block.evaluation.template_probe.verdict_agreement <= 1.0
    assert block.operating_points[0].name == "best_accuracy"
    assert metadata.threshold.cosine == 0.5  # float32's untouched


def test_evaluate_precision_int8_calibrates_the_block(quantized, tmp_path):
    model, crops = quantized
    before = ModelMetadata.load(model)
    args = ["evaluate", "--model", str(model), "--data", str(crops), "--precision", "int8"]
    assert main([*args, "--calibrate", "--out", str(tmp_path / "report")]) == 0
    after = ModelMetadata.load(model)
    assert after.threshold == before.threshold and after.operating_points == before.operating_points
    assert after.int8.evaluation.report["genuine_pairs"] == 4 * 6
    assert after.int8.evaluation.verdict_agreement == before.int8.evaluation.verdict_agreement


def test_calibration_needs_enough_people_outside_the_split(quantized, tmp_path):
    model, crops = quantized
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"heldout_identities": ["celeba/07201"]}))
    args = ["quantize", "--model", str(model), "--data", f"celeba={PHOTOS}", "--split", str(split)]
    with pytest.raises(SystemExit, match="1 people outside the split's held-out ones; need 2"):
        main([*args, "--eval-data", str(crops), "--calibration-images", "2"])


def test_strict_points_of_an_int8_view_fold_into_its_block():
    metadata = minimal_metadata(int8=int8_block("0" * 64))
    point = OperatingPoint(
        name="far_0.001", cosine=0.6, far_target=1e-3, far=1e-3, tar=0.5, far_margin=1.4
    )
    calibration = FarCalibration(sets=("a", "b"), impostor_pairs=1000, margin_folds=2)
    view = with_strict_points(metadata.view("int8"), (point,), calibration)
    folded = metadata.with_precision(view)
    assert folded.operating_points == metadata.operating_points
    assert folded.far_calibration is None
    assert folded.int8.far_calibration == calibration
    assert folded.int8.operating_points[-1] == point
