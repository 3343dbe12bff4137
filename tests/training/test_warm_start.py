"""Warm start from an exported model: the export's embeddings back, heads fitted to them."""

import os
from pathlib import Path

from fixture_paths import FIXTURES

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import onnxruntime as ort
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from image_factory import make_identity_folders  # noqa: E402

from tests.training.test_train_smoke import ARTEFACTS, history_epochs, train  # noqa: E402
from training.config import stage_hint_head  # noqa: E402
from training.data.run_info import training_info  # noqa: E402
from training.evaluation.embedder import OnnxEmbedder  # noqa: E402
from training.model.build import build_training_model  # noqa: E402
from training.model.export import embedding_model, export_model  # noqa: E402
from training.model.network import TEACHER_PROJECTION, feature_model  # noqa: E402
from training.presets import get_preset  # noqa: E402
from training.run.warm_start import (  # noqa: E402
    check_reproduces,
    fit_heads,
    warm_start_from_export,
)

TINY_MODEL = FIXTURES / "tiny_model"
CLASSES, TEACHER_DIM, BATCH = 3, 4, 8


def smoke_model(seed: int, distill: str = "none", **hint_weights: float):
    """The smoke preset's ResNet18 (32x32 grey) with random weights from ``seed``."""
    keras.utils.set_random_seed(seed)
    config = get_preset("smoke", distill=distill, **hint_weights)
    return build_training_model(config, CLASSES, 2, TEACHER_DIM if distill != "none" else None)


def pixels(count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, 32, 32, 1)).astype(np.float32)


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory) -> Path:
    """A smoke model with non-trivial batch-norm statistics, exported (BN folded into convs)."""
    model = smoke_model(seed=1)
    rng = np.random.default_rng(1)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            width = layer.gamma.shape[0]
            layer.set_weights(
                [
                    rng.uniform(0.5, 1.5, width),
                    rng.normal(0, 0.2, width),
                    rng.normal(0, 0.3, width),
                    rng.uniform(0.5, 2.0, width),
                ]
            )
    out = tmp_path_factory.mktemp("export") / "smoke"
    export_model(model, out, name="smoke", version="0.0.1", preprocess={"size": 32, "channels": 1})
    return out


def batches(images: np.ndarray, y) -> tf.data.Dataset:
    return tf.data.Dataset.from_tensor_slices((images, y)).batch(BATCH)


def served_embeddings(export_dir: Path, images: np.ndarray) -> np.ndarray:
    return ort.InferenceSession(str(export_dir / "model.onnx")).run(None, {"image": images})[0]


def labels_for(count: int) -> np.ndarray:
    return np.arange(count, dtype=np.int32) % (CLASSES - 1)  # the last class has no image


def test_inference_pass_reproduces_the_export(export_dir):
    model = smoke_model(seed=2)
    images = pixels(32, seed=3)
    warm_start_from_export(model, export_dir, batches(images, labels_for(32)), steps=4)
    probe = pixels(6, seed=4)
    served = served_embeddings(export_dir, probe)
    ours = embedding_model(model).predict(probe, verbose=0)["embedding"]
    assert np.abs(ours - served).max() < 1e-4


def test_a_mirror_averaged_export_is_reproduced_with_its_mirror_average(tmp_path):
    source = smoke_model(seed=1)
    out = tmp_path / "mirrored"
    export_model(
        source,
        out,
        name="m",
        version="1",
        preprocess={"size": 32, "channels": 1},
        saved_model=False,
        mirror_average=True,
    )
    model = smoke_model(seed=2)
    images = pixels(16, seed=3)
    warm_start_from_export(model, out, batches(images, labels_for(16)), steps=2)
    probe = pixels(4, seed=4)
    ours = embedding_model(model, mirror_average=True).predict(probe, verbose=0)["embedding"]
    assert np.abs(ours - served_embeddings(out, probe)).max() < 1e-4


def teacher_batches(images: np.ndarray) -> tf.data.Dataset:
    """Batches with random teacher vectors for every image."""
    teacher = np.random.default_rng(8).normal(size=(len(images), TEACHER_DIM))
    packed = np.concatenate([teacher, np.ones((len(images), 1))], axis=1).astype(np.float32)
    return batches(images, {"predictions": labels_for(len(images)), "projection": packed})


def joined_export(tmp_path: Path, layers: list[str]) -> tuple[Path, object]:
    """A distilled smoke model exported mirror-averaged, serving ``layers``."""
    source = smoke_model(seed=1, distill="projection")
    out = tmp_path / "joined"
    preprocess = {"size": 32, "channels": 1}
    export_model(
        source,
        out,
        name="j",
        version="1",
        preprocess=preprocess,
        saved_model=False,
        embedding_layers=layers,
        mirror_average=True,
    )
    return out, source


def test_an_export_joining_feature_and_projection_is_reproduced_with_both(tmp_path):
    layers = ["feature", TEACHER_PROJECTION]
    out, source = joined_export(tmp_path, layers)
    model = smoke_model(seed=2, distill="projection")
    warm_start_from_export(model, out, teacher_batches(pixels(16, seed=3)), steps=2)
    kept = np.asarray(model.get_layer(TEACHER_PROJECTION).kernel)
    assert np.array_equal(kept, np.asarray(source.get_layer(TEACHER_PROJECTION).kernel))
    probe = pixels(4, seed=4)
    ours = embedding_model(model, layers, mirror_average=True).predict(probe, verbose=0)
    assert np.abs(ours["embedding"] - served_embeddings(out, probe)).max() < 1e-4


def test_an_export_not_serving_the_feature_first_is_refused(tmp_path):
    out, _ = joined_export(tmp_path, [TEACHER_PROJECTION])
    model = smoke_model(seed=2, distill="projection")
    with pytest.raises(ValueError, match="warm start needs an export that serves 'feature'"):
        warm_start_from_export(model, out, teacher_batches(pixels(8, seed=3)), steps=1)


def test_training_pass_matches_inference_on_the_measured_batch(export_dir):
    model = smoke_model(seed=2)
    images = pixels(BATCH, seed=5)
    warm_start_from_export(model, export_dir, batches(images, labels_for(BATCH)), steps=1)
    features = feature_model(model)
    trained = np.asarray(features(images, training=True))
    inferred = np.asarray(features(images, training=False))
    assert np.abs(trained - inferred).max() < 1e-3 * np.abs(inferred).max()


def test_classes_are_imprinted_with_their_mean_unit_feature(export_dir):
    model = smoke_model(seed=2)
    untouched = np.asarray(model.get_layer("predictions").kernel)[:, CLASSES - 1].copy()
    images, labels = pixels(24, seed=6), labels_for(24)
    warm_start_from_export(model, export_dir, batches(images, labels), steps=3)
    unit = np.asarray(embedding_model(model).predict(images, verbose=0)["embedding"])
    kernel = np.asarray(model.get_layer("predictions").kernel)
    for klass in range(CLASSES - 1):
        mean = unit[labels == klass].mean(axis=0)
        assert np.allclose(kernel[:, klass], mean / np.linalg.norm(mean), atol=1e-4)
    assert np.array_equal(kernel[:, CLASSES - 1], untouched)


def test_projection_is_fitted_to_the_teacher_vectors(export_dir):
    model = smoke_model(seed=2, distill="projection")
    images = pixels(64, seed=7)
    unit = served_embeddings(export_dir, images)
    truth = np.random.default_rng(8).normal(size=(unit.shape[1], TEACHER_DIM))
    teacher = unit @ truth
    mask = np.ones((len(images), 1), np.float32)
    mask[::4] = 0  # images without a teacher vector must not count
    packed = np.concatenate([np.where(mask > 0, teacher, 99.0), mask], axis=1).astype(np.float32)
    y = {"predictions": labels_for(64), "projection": packed, "embedding": packed}
    warm_start_from_export(model, export_dir, batches(images, y), steps=8)
    projected = np.asarray(model.get_layer(TEACHER_PROJECTION)(unit))
    cosines = np.sum(projected * teacher, axis=1) / (
        np.linalg.norm(projected, axis=1) * np.linalg.norm(teacher, axis=1)
    )
    assert cosines.min() > 0.99


@pytest.mark.parametrize("stage", [2, 3])
def test_a_stage_hint_head_is_fitted_to_the_teacher_vectors_from_its_own_input(export_dir, stage):
    model = smoke_model(seed=2, distill="projection", **{f"stage{stage}_hint_weight": 1.0})
    head_name = stage_hint_head(stage)
    images, rng = pixels(160, seed=10), np.random.default_rng(11)

    def targets(teacher):
        packed = np.concatenate([teacher, np.ones((len(images), 1))], axis=1).astype(np.float32)
        y = {"predictions": labels_for(160), "projection": packed, "embedding": packed}
        return batches(images, y | {head_name: packed})

    random_teacher = rng.normal(size=(len(images), TEACHER_DIM))
    warm_start_from_export(model, export_dir, targets(random_teacher), steps=1)
    head = model.get_layer(head_name)
    tap = np.asarray(keras.Model(model.inputs[0], head.input)(images, training=False))
    teacher = tap @ rng.normal(size=(tap.shape[1], TEACHER_DIM))  # a linear function of it
    fit_heads(model, targets(teacher))
    projected = np.asarray(head(tap))
    cosines = np.sum(projected * teacher, axis=1) / (
        np.linalg.norm(projected, axis=1) * np.linalg.norm(teacher, axis=1)
    )
    assert cosines.min() > 0.99


def test_a_backbone_that_does_not_reproduce_the_export_is_refused(export_dir):
    with pytest.raises(ValueError, match="embeddings differ by"):
        check_reproduces(smoke_model(seed=2), OnnxEmbedder(export_dir), pixels(4, seed=9))


def test_an_export_of_another_network_is_refused():
    model = smoke_model(seed=2)
    with pytest.raises(ValueError, match="is not a folded \\*_conv layer"):
        warm_start_from_export(model, TINY_MODEL, batches(pixels(8, 0), labels_for(8)), steps=1)


def test_an_export_of_another_input_size_is_refused(export_dir):
    keras.utils.set_random_seed(0)
    config = get_preset("smoke", input_size=48)
    model = build_training_model(config, CLASSES, 2)
    with pytest.raises(ValueError, match="takes \\[32, 32\\] x 1 images"):
        warm_start_from_export(model, export_dir, batches(pixels(8, 0), labels_for(8)), steps=1)


@pytest.mark.slow
def test_a_run_starts_from_an_export_with_new_identities_and_resumes_without_it(
    export_dir, tmp_path
):
    data = make_identity_folders(tmp_path / "faces", people=5)
    out = tmp_path / "run"
    assert train(data, out, "--epochs", "1", "--init-from", str(export_dir)) == 0  # warm start
    for name in ARTEFACTS:
        assert (out / name).is_file(), name
    assert training_info(out)["init_from_model"] == "smoke 0.0.1"  # into the next export
    missing = tmp_path / "deleted_export"  # a resumed run restores its backup instead
    assert train(data, out, "--epochs", "2", "--init-from", str(missing)) == 0
    assert history_epochs(out) == [0, 1]
    assert training_info(out)["init_from_model"] == "smoke 0.0.1"  # the record survives
