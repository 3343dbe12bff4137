"""Mirror-averaged embeddings: the layers, their serialisation and the export that uses them."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import onnxruntime as ort
import pytest

keras = pytest.importorskip("keras")

from facecore.metadata import ModelMetadata  # noqa: E402
from training.model.export import embedding_model, export_model  # noqa: E402
from training.model.layers import MirrorMean, MirrorPair  # noqa: E402

SIZE, CHANNELS, DIMENSION = 16, 3, 8


def tiny_feature_model():
    keras.utils.set_random_seed(3)
    image = keras.Input((SIZE, SIZE, CHANNELS), name="image")
    x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0)(image)
    x = keras.layers.Conv2D(DIMENSION, 3, strides=2, activation="relu")(x)
    return keras.Model(image, keras.layers.GlobalAveragePooling2D(name="feature")(x))


def pixels(count=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, SIZE, SIZE, CHANNELS)).astype(np.float32)


def unit(vectors):
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def test_mirror_pair_appends_the_mirror_images():
    batch = pixels()
    paired = np.asarray(MirrorPair()(batch))
    assert paired.shape == (2 * len(batch), SIZE, SIZE, CHANNELS)
    assert np.array_equal(paired[: len(batch)], batch)
    assert np.array_equal(paired[len(batch) :], batch[:, :, ::-1, :])


def test_mirror_mean_averages_each_image_with_its_own_mirror():
    rng = np.random.default_rng(4)
    originals, mirrors = rng.normal(size=(2, 3, DIMENSION)).astype(np.float32)
    averaged = np.asarray(MirrorMean()(np.concatenate([originals, mirrors])))
    assert np.allclose(averaged, unit(unit(originals) + unit(mirrors)), atol=1e-6)


@pytest.mark.parametrize("layer", [MirrorPair(), MirrorMean()])
def test_layers_refuse_inputs_of_the_wrong_rank(layer):
    with pytest.raises(ValueError, match="expects"):
        layer.build((4, 5, 6) if isinstance(layer, MirrorPair) else (4, 5, 6, 7))


def test_mirror_averaged_embedder_survives_save_and_load(tmp_path):
    embedder = embedding_model(tiny_feature_model(), mirror_average=True)
    embedder.save(tmp_path / "embedder.keras")
    loaded = keras.saving.load_model(tmp_path / "embedder.keras")
    batch = pixels()
    assert np.allclose(
        loaded.predict(batch, verbose=0)["embedding"],
        embedder.predict(batch, verbose=0)["embedding"],
        atol=1e-6,
    )


@pytest.fixture(scope="module")
def mirrored_export(tmp_path_factory):
    model = tiny_feature_model()
    out = tmp_path_factory.mktemp("mirrored") / "tiny"
    export_model(
        model, out, name="tiny", version="1", preprocess={}, saved_model=False, mirror_average=True
    )
    return model, out


def test_export_serves_the_mean_of_image_and_mirror_embeddings(mirrored_export):
    model, out = mirrored_export
    batch = pixels(5, seed=1)
    served = ort.InferenceSession(str(out / "model.onnx")).run(None, {"image": batch})[0]
    plain = model.predict(batch, verbose=0)
    mirrored = model.predict(batch[:, :, ::-1, :].copy(), verbose=0)
    assert served.shape == (5, DIMENSION)
    assert np.allclose(served, unit(unit(plain) + unit(mirrored)), atol=1e-5)


def test_a_face_and_its_mirror_image_get_the_same_embedding(mirrored_export):
    _, out = mirrored_export
    session = ort.InferenceSession(str(out / "model.onnx"))
    batch = pixels(4, seed=2)
    (served,) = session.run(None, {"image": np.concatenate([batch, batch[:, :, ::-1, :]])})
    assert np.allclose(served[:4], served[4:], atol=1e-5)
    assert session.run(None, {"image": batch[:1]})[0].shape == (1, DIMENSION)


def test_metadata_says_the_embeddings_are_mirror_averaged(mirrored_export, tmp_path):
    model, out = mirrored_export
    assert ModelMetadata.load(out).embedding.mirror_averaged is True
    export_model(model, tmp_path / "plain", name="p", version="1", preprocess={}, saved_model=False)
    assert ModelMetadata.load(tmp_path / "plain").embedding.mirror_averaged is False
