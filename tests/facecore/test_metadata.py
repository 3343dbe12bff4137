import json

import pytest
from fixture_paths import TINY_MODEL

from facecore.metadata import MetadataError, ModelMetadata, Threshold


def test_fixture_loads_from_directory_or_file():
    metadata = ModelMetadata.load(TINY_MODEL)
    assert metadata == ModelMetadata.load(TINY_MODEL / "metadata.json")
    assert metadata.input.name == "image" and metadata.embedding.name == "embedding"
    assert metadata.threshold.calibrated is False


def test_save_then_load_round_trips(tmp_path):
    metadata = ModelMetadata.load(TINY_MODEL)
    calibrated = metadata.model_copy(
        update={
            "threshold": Threshold(
                cosine=0.42, far=1e-3, tar=0.9, operating_point="FAR 0.001", calibrated=True
            )
        }
    )
    calibrated.save(tmp_path)
    assert ModelMetadata.load(tmp_path) == calibrated


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("input", "channels"), 2, "channels"),
        (("threshold", "cosine"), 1.5, "cosine"),
        (("embedding", "dimension"), 0, "dimension"),
        (("input", "unknown"), 1, "unknown"),
        (("format_version",), 99, "format_version 99"),
    ],
)
def test_invalid_fields_are_named(tmp_path, path, value, message):
    content = json.loads((TINY_MODEL / "metadata.json").read_text())
    target = content
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    file = tmp_path / "metadata.json"
    file.write_text(json.dumps(content))
    with pytest.raises(MetadataError, match=message) as error:
        ModelMetadata.load(file)
    assert str(file) in str(error.value)


def test_missing_or_broken_file(tmp_path):
    with pytest.raises(MetadataError, match="cannot read"):
        ModelMetadata.load(tmp_path / "nothing.json")
    (tmp_path / "metadata.json").write_text("{not json")
    with pytest.raises(MetadataError, match="invalid model metadata"):
        ModelMetadata.load(tmp_path)


def test_exports_written_before_mirror_averaging_read_as_not_averaged(tmp_path):
    raw = json.loads((TINY_MODEL / "metadata.json").read_text())
    assert "mirror_averaged" not in raw["embedding"]  # the fixture predates the field
    assert ModelMetadata.load(TINY_MODEL).embedding.mirror_averaged is False
    raw["embedding"]["mirror_averaged"] = "sometimes"
    (tmp_path / "metadata.json").write_text(json.dumps(raw))
    with pytest.raises(MetadataError, match="mirror_averaged"):
        ModelMetadata.load(tmp_path)
