"""The teacher cache command on real fixture photos, and a distilled training run on it."""

import argparse
import json
import os
import shutil

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

from tests.teacher_factory import assert_knows_who_is_who, embedded_cache, needs_dlib
from training.cli import main
from training.commands.train import add_arguments, inputs_from_args
from training.data.folders import keep_share_of_people, scan_identity_folders
from training.model.distillation import ContrastiveHintLoss
from training.model.export import export_model, load_checkpoint
from training.model.network import load_model
from training.run.data import prepare_run_data
from training.teacher.cache import load_teacher_embeddings, read_info

pytestmark = needs_dlib


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A prepare cache of the fixture faces (labelled + an unlabelled folder), embedded."""
    return embedded_cache(tmp_path_factory.mktemp("teacher"))


def test_every_crop_gets_a_unit_teacher_vector(cache):
    teacher = load_teacher_embeddings(cache)
    assert read_info(cache).dimension == 128
    assert sorted(teacher.index) == sorted(
        str(path.relative_to(cache)) for path in cache.rglob("*.png")
    )
    assert len(teacher.index) == 9  # 3 CelebA + 4 ORL + 2 unlabelled
    assert np.allclose(np.linalg.norm(teacher.vectors, axis=1), 1.0, atol=1e-5)
    report = json.loads((cache / "teacher" / "report.json").read_text())
    assert report["embedded"] == 9 and report["failed"] == 0


def test_the_teacher_knows_who_is_who(cache):
    assert_knows_who_is_who(cache)


def test_rerun_resumes_without_recomputing(cache):
    parts = sorted((cache / "teacher" / "parts").iterdir())
    assert main(["teacher", "--cache", str(cache), "--workers", "1"]) == 0
    assert sorted((cache / "teacher" / "parts").iterdir()) == parts


def test_missing_original_is_reported_not_fatal(cache, tmp_path):
    copy = tmp_path / "cache"
    shutil.copytree(cache, copy)
    shutil.rmtree(copy / "teacher")
    log = [json.loads(line) for line in (copy / "prepare_log.jsonl").read_text().splitlines()]
    log[0]["path"] = str(tmp_path / "gone.jpg")
    (copy / "prepare_log.jsonl").write_text("".join(json.dumps(e) + "\n" for e in log))
    assert main(["teacher", "--cache", str(copy), "--workers", "1"]) == 0
    report = json.loads((copy / "teacher" / "report.json").read_text())
    assert report["failed"] == 1 and report["failures"][0]["path"].endswith("gone.jpg")


def smoke_train(out, *flags: str) -> int:
    """``training train --preset smoke`` with ``flags``, into ``out``."""
    return main(["train", "--preset", "smoke", "--out", str(out), "--verbose", "0", *flags])


def distilled_flags(cache, extra: str) -> list[str]:
    """Training flags: both labelled sets and the unlabelled faces, in colour, with the teacher."""
    flags = f"--data {cache}/celeba --data {cache}/orl --unlabelled {cache}/unlabelled"
    return f"{flags} --teacher {cache} --channels 3 {extra}".split()


@pytest.mark.slow
def test_distilled_training_uses_teacher_and_unlabelled_images(cache, tmp_path):
    out = tmp_path / "run"
    assert smoke_train(out, *distilled_flags(cache, "--distill both --client-augment")) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["unlabelled_images"] == 2
    history = (out / "history.csv").read_text().splitlines()[0]
    assert "projection_loss" in history and "embedding_loss" in history
    config = json.loads((out / "config.json").read_text())
    assert config["distill"] == "both" and config["teacher"] == str(cache.resolve())


@pytest.mark.slow
def test_distilled_training_can_validate_on_new_people(cache, tmp_path):
    out = tmp_path / "run"
    flags = f"--data {cache}/celeba --data {cache}/orl --teacher {cache} --distill projection"
    flags += " --channels 3 --split identity --holdout-fraction 0 --validation people"
    assert smoke_train(out, *flags.split(), "--validation-fraction", "0.5") == 0
    history = (out / "history.csv").read_text().splitlines()
    assert "val_eer" in history[0] and "val_projection_loss" not in history[0]
    assert "val_eer_joined" in history[0]  # the feature and the projection served together
    split = json.loads((out / "split.json").read_text())
    labels = json.loads((out / "labels.json").read_text())
    assert len(labels) == 2 and not {row["identity"] for row in split["validation"]} & set(labels)


@pytest.mark.slow
def test_a_run_on_a_share_of_the_people_trains_on_that_share_only(cache, tmp_path):
    out = tmp_path / "run"
    roots = [str(cache / "celeba"), str(cache / "orl")]
    flags = distilled_flags(cache, "--distill projection --people-fraction 0.5")
    assert smoke_train(out, *flags) == 0
    assert json.loads((out / "summary.json").read_text())["unlabelled_images"] == 1  # of 2
    kept = keep_share_of_people(scan_identity_folders(roots), 0.5, seed=0)
    split = json.loads((out / "split.json").read_text())
    assert set(split["train_identities"]) == {r.identity for r in kept}
    assert json.loads((out / "config.json").read_text())["people_fraction"] == 0.5


@pytest.mark.slow
def test_a_run_can_train_on_teacher_mined_batches(cache, tmp_path):
    out = tmp_path / "run"
    flags = distilled_flags(cache, "--distill both --neighbour-group 2 --neighbour-pool 3")
    assert smoke_train(out, *flags) == 0
    config = json.loads((out / "config.json").read_text())
    assert (config["neighbour_group"], config["neighbour_pool"]) == (2, 3)
    assert len((out / "history.csv").read_text().splitlines()) == 3  # header + 2 epochs


@pytest.mark.slow
def test_a_run_can_add_the_contrastive_term_to_the_hint(cache, tmp_path):
    out = tmp_path / "run"
    flags = "--distill projection --contrastive-weight 0.1 --contrastive-temperature 0.2"
    assert smoke_train(out, *distilled_flags(cache, flags)) == 0
    config = json.loads((out / "config.json").read_text())
    assert (config["contrastive_weight"], config["contrastive_temperature"]) == (0.1, 0.2)
    loss = load_model(out / "final.keras").loss["projection"]  # compiled, as a resume needs
    assert isinstance(loss, ContrastiveHintLoss) and (loss.weight, loss.temperature) == (0.1, 0.2)


@pytest.mark.slow
def test_stage_hint_heads_train_and_can_be_served(cache, tmp_path):
    out = tmp_path / "run"
    hints = "--stage2-hint-weight 3 --stage3-hint-weight 5"
    assert smoke_train(out, *distilled_flags(cache, f"--distill projection {hints}")) == 0
    header = (out / "history.csv").read_text().splitlines()[0]
    assert "stage2_projection_loss" in header and "stage3_projection_loss" in header
    config = json.loads((out / "config.json").read_text())
    assert (config["stage2_hint_weight"], config["stage3_hint_weight"]) == (3.0, 5.0)
    served = ["feature", "teacher_projection", "stage2_projection", "stage3_projection"]
    metadata = export_model(
        load_checkpoint(out / "final.keras"),
        tmp_path / "m",
        name="m",
        version="0",
        preprocess={"size": 32},
        saved_model=False,
        embedding_layers=served,
    )
    assert metadata.embedding.dimension == 512 + 3 * 128


def test_distillation_without_teacher_is_refused(cache, tmp_path):
    out, orl = tmp_path / "run", str(cache / "orl")
    with pytest.raises(SystemExit, match="needs --teacher"):
        smoke_train(out, "--data", orl, "--distill", "both")
    with pytest.raises(SystemExit, match="through the teacher only"):
        smoke_train(out, "--data", orl, "--unlabelled", str(cache / "unlabelled"))


def first_labels(batches, count: int) -> list[int]:
    """The class labels (-1: unlabelled) of the first ``count`` images of ``batches``."""
    labels = [np.asarray(y["predictions"]) for _, y in batches.take(count)]
    return sorted(np.concatenate(labels)[:count].tolist())


def test_a_warm_start_of_a_mined_run_fits_its_heads_on_every_image_once(cache, tmp_path):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    flags = f"--preset smoke --out {tmp_path} --data {cache}/celeba --data {cache}/orl"
    flags += f" --unlabelled {cache}/unlabelled --teacher {cache} --distill both --channels 3"
    flags += f" --neighbour-group 2 --neighbour-pool 3 --init-from {tmp_path}"
    inputs = inputs_from_args(parser.parse_args(flags.split()))
    run_data = prepare_run_data(inputs, inputs.config.batch_size)
    images = len(run_data.splits.train) + run_data.unlabelled_images
    unlabelled = [-1] * run_data.unlabelled_images
    every_image = sorted([run_data.labels[r.identity] for r in run_data.splits.train] + unlabelled)
    assert first_labels(run_data.head_batches(), images) == every_image  # a plain shuffle
    assert first_labels(run_data.train, images) != every_image  # anchors and look-alikes
