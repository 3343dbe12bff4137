"""``training soup``: runs of one recipe averaged into one checkpoint, anything else refused."""

import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from tests.training.test_warm_start import smoke_model  # noqa: E402
from training.cli import main  # noqa: E402
from training.data.run_info import training_info  # noqa: E402
from training.model.export import load_checkpoint  # noqa: E402
from training.run.soup import SoupError, average_weights, check_runs  # noqa: E402

CONFIG = {
    "preset": "smoke",
    "input_size": 32,
    "channels": 1,
    "data": ["/data/a", "/data/b"],
    "split": "identity",
    "init_from_model": "default 2.4.0",
    "command": "python -m training train ...",
}
SUMMARY = {"identities": 3, "train_images": 30, "heldout_identities": 1, "validation_images": 2}


def mean_weights(first, second) -> list[np.ndarray]:
    return [(a + b) / 2 for a, b in zip(first.get_weights(), second.get_weights(), strict=True)]


def write_run(folder: Path, seed: int, model=None, **changes) -> Path:
    """A run folder as ``training train`` leaves it, with ``changes`` to its config."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({**CONFIG, "seed": seed, **changes}))
    (folder / "summary.json").write_text(json.dumps({**SUMMARY, "wall_time_s": 10.0}))
    (folder / "labels.json").write_text(json.dumps(["a", "b", "c"]))
    (folder / "split.json").write_text(json.dumps({"kind": "identity", "heldout": ["d"]}))
    if model is not None:
        model.save(folder / "final.keras")
    return folder


def test_average_weights_is_the_element_wise_mean():
    first, second = smoke_model(seed=1), smoke_model(seed=2)
    expected = mean_weights(first, second)
    soup = average_weights([first, second])
    for value, wanted in zip(soup.get_weights(), expected, strict=True):
        np.testing.assert_allclose(value, wanted, rtol=1e-6, atol=1e-7)


def test_models_with_other_layers_are_refused():
    with pytest.raises(SoupError, match="other layers"):
        average_weights([smoke_model(seed=1), smoke_model(seed=2, distill="projection")])


def test_runs_of_the_same_start_pass_the_check(tmp_path):
    runs = [write_run(tmp_path / f"run{seed}", seed) for seed in (0, 1, 2)]
    assert check_runs(runs)["init_from_model"] == "default 2.4.0"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"init_from_model": "default 2.3.0"}, "init_from_model"),
        ({"data": ["/data/a"]}, "data"),
        ({"input_size": 64}, "input_size"),
    ],
)
def test_runs_that_differ_are_refused_by_name(tmp_path, changes, message):
    runs = [write_run(tmp_path / "a", 0), write_run(tmp_path / "b", 1, **changes)]
    with pytest.raises(SoupError, match=f"differs from .* in {message}"):
        check_runs(runs)


def test_other_classes_or_split_are_refused(tmp_path):
    runs = [write_run(tmp_path / "a", 0), write_run(tmp_path / "b", 1)]
    (runs[1] / "split.json").write_text(json.dumps({"kind": "identity", "heldout": ["c"]}))
    with pytest.raises(SoupError, match="split.json"):
        check_runs(runs)


def test_runs_from_scratch_and_single_runs_are_refused(tmp_path):
    scratch = [write_run(tmp_path / f"s{seed}", seed, init_from_model=None) for seed in (0, 1)]
    with pytest.raises(SoupError, match="from scratch"):
        check_runs(scratch)
    with pytest.raises(SoupError, match="at least two"):
        check_runs([scratch[0], scratch[0]])


def test_soup_command_writes_a_run_folder_export_reads(tmp_path):
    models = [smoke_model(seed=seed) for seed in (1, 2)]
    expected = mean_weights(*models)
    runs = [write_run(tmp_path / f"run{i}", i, model) for i, model in enumerate(models)]
    out = tmp_path / "soup"
    assert main(["soup", "--runs", *map(str, runs), "--out", str(out)]) == 0
    soup = load_checkpoint(out / "final.keras")
    for value, wanted in zip(soup.get_weights(), expected, strict=True):
        np.testing.assert_allclose(value, wanted, rtol=1e-6, atol=1e-7)
    info = training_info(out)
    assert info["soup_of"] == [str(run.resolve()) for run in runs]
    assert info["seed"] == [0, 1]
    assert info["wall_time_s"] == 20.0
    assert json.loads((out / "labels.json").read_text()) == ["a", "b", "c"]


def test_soup_command_reports_a_missing_checkpoint_in_one_line(tmp_path):
    runs = [write_run(tmp_path / f"run{seed}", seed) for seed in (0, 1)]
    with pytest.raises(SystemExit, match="training soup: error: no checkpoint .*final.keras"):
        main(["soup", "--runs", *map(str, runs), "--out", str(tmp_path / "soup")])
