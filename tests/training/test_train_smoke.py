import csv
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
from image_factory import make_identity_folders

from training.cli import main

ARTEFACTS = (
    "best.keras",
    "final.keras",
    "config.json",
    "labels.json",
    "split.json",
    "summary.json",
    "history.csv",
    "learning_curve.png",
)


def train(data, out, *extra):
    args = ["train", "--preset", "smoke", "--data", str(data), "--out", str(out), "--verbose", "0"]
    return main([*args, *extra])


def history_epochs(out):
    with (out / "history.csv").open() as handle:
        return [int(row["epoch"]) for row in csv.DictReader(handle)]


@pytest.mark.slow
def test_smoke_run_writes_artefacts_and_resumes(tmp_path):
    data = make_identity_folders(tmp_path / "faces")
    out = tmp_path / "run"
    assert train(data, out, "--epochs", "1") == 0
    for name in ARTEFACTS:
        assert (out / name).is_file(), name
    assert json.loads((out / "labels.json").read_text()) == {
        f"faces/person{i}": i for i in range(3)
    }
    config = json.loads((out / "config.json").read_text())
    assert (config["preset"], config["input_size"], config["monitor"]) == (
        "smoke",
        32,
        "val_accuracy",
    )
    split = json.loads((out / "split.json").read_text())
    assert split["kind"] == "per_image" and split["heldout"] == []
    assert len(split["train"]) + len(split["validation"]) == 18
    assert history_epochs(out) == [0]

    assert train(data, out, "--epochs", "2") == 0  # re-run: continues, does not restart
    assert history_epochs(out) == [0, 1]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["epochs_completed"] == 2 and summary["epochs_this_session"] == 1
    assert summary["images_per_s"] > 0 and "val_accuracy" in summary["best"]


@pytest.mark.slow
def test_identity_split_keeps_heldout_people_out_of_training(tmp_path):
    data = make_identity_folders(tmp_path / "faces", people=4)
    out = tmp_path / "run"
    assert (
        train(data, out, "--epochs", "1", "--split", "identity", "--holdout-fraction", "0.25") == 0
    )
    split = json.loads((out / "split.json").read_text())
    labels = json.loads((out / "labels.json").read_text())
    assert len(split["heldout_identities"]) == 1
    assert not set(split["heldout_identities"]) & set(labels)
    assert {row["identity"] for row in split["heldout"]} == set(split["heldout_identities"])
    assert json.loads((out / "config.json").read_text())["monitor"] == "val_loss"


@pytest.mark.slow
def test_init_from_starts_from_a_checkpoints_weights(tmp_path):
    import keras

    from training.model.network import load_model

    data = make_identity_folders(tmp_path / "faces")
    first = tmp_path / "first"
    assert train(data, first, "--epochs", "1") == 0
    second = tmp_path / "second"
    # A learning rate too small to move any weight: the second run ends where it started.
    assert (
        train(
            data,
            second,
            "--epochs",
            "1",
            "--learning-rate",
            "1e-20",
            "--init-from",
            str(first / "final.keras"),
        )
        == 0
    )

    def stem(path):
        return keras.ops.convert_to_numpy(load_model(path).get_layer("stem_conv").kernel)

    assert np.allclose(stem(first / "final.keras"), stem(second / "final.keras"))
    config = json.loads((second / "config.json").read_text())
    assert config["init_from"] == str((first / "final.keras").resolve())
    fresh = tmp_path / "fresh"
    assert train(data, fresh, "--epochs", "1", "--learning-rate", "1e-20") == 0
    assert not np.allclose(stem(first / "final.keras"), stem(fresh / "final.keras"))


def audit_report(path, crops):
    path.write_text(json.dumps({"suspects": [{"crop": str(crop)} for crop in crops]}))
    return path


@pytest.mark.slow
def test_excluded_suspects_leave_training_only(tmp_path):
    data = make_identity_folders(tmp_path / "faces")
    first = tmp_path / "first"
    assert train(data, first, "--epochs", "1") == 0
    split = json.loads((first / "split.json").read_text())
    dropped, validated = split["train"][0]["path"], split["validation"][0]["path"]
    report = audit_report(tmp_path / "audit.json", [dropped, validated])

    second = tmp_path / "second"
    assert train(data, second, "--epochs", "1", "--exclude", str(report)) == 0

    after = json.loads((second / "split.json").read_text())
    assert after["train"] == [row for row in split["train"] if row["path"] != dropped]
    assert after["validation"] == split["validation"]  # validation is never thinned
    assert json.loads((second / "config.json").read_text())["exclude"] == str(report.resolve())


def test_exclude_refuses_a_crop_outside_the_run(tmp_path):
    data = make_identity_folders(tmp_path / "faces")
    report = audit_report(tmp_path / "audit.json", [tmp_path / "elsewhere" / "1.png"])
    with pytest.raises(SystemExit, match="1 crop\\(s\\) not in this run's data"):
        train(data, tmp_path / "run", "--exclude", str(report))


def test_a_resumed_history_keeps_its_columns_when_new_metrics_appear(tmp_path):
    """A run resumed under code that logs one more metric appends rows the header can read."""
    from training.run.callbacks import HistoryLogger, read_history

    path = tmp_path / "history.csv"
    first = HistoryLogger(str(path), append=True)
    first.on_train_begin()
    first.on_epoch_end(0, {"loss": 2.0, "val_eer": 0.3})
    first.on_train_end()
    resumed = HistoryLogger(str(path), append=True)
    resumed.on_train_begin()
    resumed.on_epoch_end(1, {"loss": 1.5, "val_eer": 0.2, "val_eer_joined": 0.1})
    resumed.on_train_end()
    assert read_history(tmp_path) == [
        {"epoch": 0.0, "loss": 2.0, "val_eer": 0.3},
        {"epoch": 1.0, "loss": 1.5, "val_eer": 0.2},
    ]
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    new = HistoryLogger(str(fresh / "history.csv"), append=True)
    new.on_train_begin()
    new.on_epoch_end(0, {"loss": 1.0, "val_eer_joined": 0.1})
    new.on_train_end()
    assert read_history(fresh) == [{"epoch": 0.0, "loss": 1.0, "val_eer_joined": 0.1}]
