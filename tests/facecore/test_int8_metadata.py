"""The int8 block of metadata.json and ModelBundle.load(precision="int8")."""

import json

import pytest
from int8_factory import INT8_THRESHOLD, evaluation, int8_block, tiny_int8_model
from metadata_factory import minimal_metadata

from facecore.metadata import ModelMetadata
from facecore.model_bundle import ModelBundle, ModelBundleError
from facecore.quantized import INT8_FILE, Int8Block

SHA = "0" * 64


def test_int8_bundle_is_a_view_with_its_own_points(tmp_path):
    model = tiny_int8_model(tmp_path / "m")
    plain, int8 = ModelBundle.load(model), ModelBundle.load(model, "int8")
    assert (plain.precision, int8.precision) == ("float32", "int8")
    assert int8.model_file("onnx") == model / INT8_FILE
    assert plain.model_file("onnx") == model / "model.onnx"
    assert int8.metadata.threshold.cosine == INT8_THRESHOLD != plain.metadata.threshold.cosine
    assert [p.name for p in int8.metadata.operating_points] == ["best_accuracy"]
    assert (int8.metadata.name, int8.metadata.version) == (plain.metadata.name, "0.0.1")
    assert int8.metadata.evaluation["verdict_agreement"] == 0.995
    with pytest.raises(ModelBundleError, match="onnx only"):
        int8.model_file("savedmodel")


def test_int8_without_a_block_is_refused(tmp_path):
    from fixture_paths import TINY_MODEL

    with pytest.raises(ModelBundleError, match="no int8 block"):
        ModelBundle.load(TINY_MODEL, "int8")
    with pytest.raises(ModelBundleError, match="precision must be one of"):
        ModelBundle.load(TINY_MODEL, "int4")


def test_missing_or_altered_int8_file_is_refused(tmp_path):
    model = tiny_int8_model(tmp_path / "m")
    (model / INT8_FILE).write_bytes(b"not the quantised model")
    with pytest.raises(ModelBundleError, match="sha256 .* differs"):
        ModelBundle.load(model, "int8")
    (model / INT8_FILE).unlink()
    with pytest.raises(ModelBundleError, match="is missing"):
        ModelBundle.load(model, "int8")
    assert ModelBundle.load(model).precision == "float32"  # float32 does not need it


@pytest.mark.parametrize(
    ("fields", "claimed"),
    [
        ({"int8_eer": 0.054}, True),  # EER 0.4 points worse
        ({"int8_tar_at_far_0_001": 0.75}, True),  # TAR 1 point worse
        ({"verdict_agreement": 0.98}, True),
        ({}, False),  # in budget, claimed out
    ],
)
def test_within_budget_is_derived_not_claimed(fields, claimed):
    block = int8_block(SHA, evaluation=evaluation(**fields), within_budget=claimed)
    with pytest.raises(ValueError, match="within_budget is"):
        Int8Block.model_validate(block)
    fixed = Int8Block.model_validate({**block, "within_budget": not claimed})
    assert fixed.within_budget is (not claimed)


def test_better_int8_is_within_budget():
    block = Int8Block.model_validate(int8_block(SHA, evaluation=evaluation(int8_eer=0.04)))
    assert block.within_budget


def test_view_folds_back_into_the_block():
    metadata = minimal_metadata(int8=int8_block(SHA))
    view = metadata.view("int8")
    moved = view.threshold.model_copy(update={"cosine": 0.3})
    updated = metadata.with_precision(
        view.model_copy(update={"threshold": moved, "evaluation": {"eer": 0.05}})
    )
    assert updated.threshold == metadata.threshold  # float32's untouched
    assert updated.int8.threshold.cosine == 0.3
    assert updated.int8.evaluation.report == {"eer": 0.05}
    assert updated.int8.evaluation.verdict_agreement == 0.995
    with pytest.raises(ValueError, match="with_precision"):
        view.save("/nonexistent/metadata.json")
    assert metadata.view("float32") is metadata
    assert metadata.with_precision(metadata) is metadata


def test_int8_block_round_trips_through_json(tmp_path):
    metadata = minimal_metadata(int8=int8_block(SHA))
    metadata.save(tmp_path / "metadata.json")
    stored = json.loads((tmp_path / "metadata.json").read_text())
    assert stored["int8"]["within_budget"] is True
    assert ModelMetadata.load(tmp_path).int8 == metadata.int8
