"""The training run folder says how the model's input was made, or export fails: no guessing."""

import json

import pytest

from facecore.preprocess_config import PreprocessConfig
from training.data.run_info import RunDirectoryError, data_roots, preprocessing


def make_run(tmp_path, data: list[str], prepared_size: int | None) -> tuple:
    """A run trained on ``cache/orl``, a set folder of a ``prepare --out cache``."""
    cache = tmp_path / "cache" / "orl"
    cache.mkdir(parents=True)
    if prepared_size is not None:
        config = PreprocessConfig(
            size=prepared_size, alignment="dlib_chip", face_policy="most_confident"
        )
        report = {"preprocessing": config.to_dict()}
        (cache.parent / "prepare_report.json").write_text(json.dumps(report))
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"data": data}))
    return run, cache


def test_prepared_folder_gives_its_preprocessing(tmp_path):
    run, cache = make_run(tmp_path, [str(tmp_path / "cache" / "orl")], prepared_size=64)
    config = PreprocessConfig.from_dict(preprocessing(run, 64, 1))
    assert (config.size, config.channels, config.face_policy) == (64, 1, "most_confident")
    assert config.alignment == "dlib_chip"
    assert data_roots(run) == [cache.resolve()]


def test_folders_prepared_differently_are_refused(tmp_path):
    run, cache = make_run(tmp_path, [str(tmp_path / "cache" / "orl")], prepared_size=64)
    other = tmp_path / "other" / "yale"
    other.mkdir(parents=True)
    report = {"preprocessing": PreprocessConfig(size=64).to_dict()}
    (other.parent / "prepare_report.json").write_text(json.dumps(report))
    (run / "config.json").write_text(json.dumps({"data": [str(cache), str(other)]}))
    with pytest.raises(RunDirectoryError, match="prepared with different settings"):
        preprocessing(run, 64, 3)


def test_relative_data_folder_resolves_from_the_training_folder_only(tmp_path, monkeypatch):
    run, _ = make_run(tmp_path, ["orl=cache/orl"], prepared_size=64)
    monkeypatch.chdir(tmp_path)
    assert PreprocessConfig.from_dict(preprocessing(run, 64, 3)).face_policy == "most_confident"
    monkeypatch.chdir(run)  # another working directory: the folder is not found
    with pytest.raises(RunDirectoryError, match="run the export from the folder training ran in"):
        preprocessing(run, 64, 3)


def test_crops_prepared_at_another_size_are_refused(tmp_path):
    run, _ = make_run(tmp_path, [str(tmp_path / "cache" / "orl")], prepared_size=112)
    with pytest.raises(RunDirectoryError, match="prepared at 112 px but the model takes 224"):
        preprocessing(run, 224, 1)


def test_unprepared_folders_use_the_documented_defaults(tmp_path):
    run, _ = make_run(tmp_path, [str(tmp_path / "cache" / "orl")], prepared_size=None)
    assert PreprocessConfig.from_dict(preprocessing(run, 32, 1)) == PreprocessConfig(
        size=32, channels=1
    )


@pytest.mark.parametrize(
    ("spec", "expected_name"), [("orl=cache/orl", "orl"), ("cache/yale", "yale")]
)
def test_data_specs_are_recorded_absolute(tmp_path, monkeypatch, spec, expected_name):
    from training.data.folders import absolute_spec, parse_root

    monkeypatch.chdir(tmp_path)
    recorded = absolute_spec(spec)
    name, path = parse_root(recorded)
    assert path.is_absolute() and path == tmp_path / spec.split("=")[-1]
    assert name == expected_name


def test_a_checkpoint_of_another_run_is_named_with_what_that_run_started_from(tmp_path):
    from training.run.record import starting_weights_name

    run = tmp_path / "default_v3"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"init_from_model": "default 2.0.0"}))
    assert starting_weights_name(run / "final.keras") == (
        "final.keras of run default_v3 (started from default 2.0.0)"
    )
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "config.json").write_text(json.dumps({"init_from_model": None}))
    assert starting_weights_name(fresh / "best.keras") == "best.keras of run fresh"
    assert starting_weights_name(None) is None
