import json

import numpy as np
import onnxruntime as ort
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from facecore.metadata import ModelMetadata  # noqa: E402
from training.cli import main  # noqa: E402
from training.model.export import embedding_model, export_model  # noqa: E402

SIZE, CHANNELS, DIMENSION = 24, 3, 12


def tiny_training_model(head: str = "dense"):
    keras.utils.set_random_seed(1)
    image = keras.Input((SIZE, SIZE, CHANNELS), name="image")
    x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0)(image)
    x = keras.layers.Conv2D(DIMENSION, 3, strides=2)(x)
    x = keras.layers.BatchNormalization()(x)
    feature = keras.layers.GlobalAveragePooling2D(name="feature")(keras.layers.ReLU()(x))
    model = keras.Model(image, keras.layers.Dense(5)(feature))
    if head == "amsoftmax":
        from training.model.network import wrap_cnn

        model = wrap_cnn(model, num_classes=5)
    return model


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    model = tiny_training_model()
    out = tmp_path_factory.mktemp("export") / "tiny"
    export_model(
        model,
        out,
        name="tiny",
        version="1.2.3",
        preprocess={"size": SIZE},
        training_info={"preset": "test", "sets": ["orl"], "people": 3},
    )
    return model, out


def pixels(count=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, SIZE, SIZE, CHANNELS)).astype(np.float32)


def test_onnx_savedmodel_and_keras_give_the_same_embeddings(exported):
    model, out = exported
    batch = pixels()
    reference = embedding_model(model).predict(batch, verbose=0)["embedding"]
    session = ort.InferenceSession(str(out / "model.onnx"))
    from_onnx = session.run(["embedding"], {"image": batch})[0]
    serve = tf.saved_model.load(str(out / "saved_model")).signatures["serving_default"]
    from_saved = serve(image=tf.constant(batch))["embedding"].numpy()
    onnx_gap = np.abs(from_onnx - reference).max()
    saved_gap = np.abs(from_saved - reference).max()
    print(f"max abs difference to Keras: ONNX {onnx_gap:.2e}, SavedModel {saved_gap:.2e}")
    assert onnx_gap < 1e-5 and saved_gap < 1e-5
    assert from_onnx.shape == (len(batch), DIMENSION)
    assert np.allclose(np.linalg.norm(from_onnx, axis=1), 1.0, atol=1e-5)


def test_embeddings_are_the_feature_layer_normalised(exported):
    model, out = exported
    batch = pixels(2, seed=5)
    feature = keras.Model(model.inputs, model.get_layer("feature").output).predict(batch, verbose=0)
    expected = feature / np.linalg.norm(feature, axis=1, keepdims=True)
    from_onnx = ort.InferenceSession(str(out / "model.onnx")).run(None, {"image": batch})[0]
    assert np.allclose(from_onnx, expected, atol=1e-5)


def test_tensor_names_and_dynamic_batch(exported):
    _, out = exported
    session = ort.InferenceSession(str(out / "model.onnx"))
    (inp,), (output,) = session.get_inputs(), session.get_outputs()
    assert (inp.name, inp.shape, inp.type) == (
        "image",
        ["N", SIZE, SIZE, CHANNELS],
        "tensor(float)",
    )
    assert (output.name, output.shape) == ("embedding", ["N", DIMENSION])
    for count in (1, 7):
        assert session.run(None, {"image": pixels(count)})[0].shape == (count, DIMENSION)
    signature = tf.saved_model.load(str(out / "saved_model")).signatures["serving_default"]
    assert list(signature.structured_input_signature[1]) == ["image"]
    assert list(signature.structured_outputs) == ["embedding"]


def test_metadata_is_valid_and_describes_the_graph(exported):
    _, out = exported
    metadata = ModelMetadata.load(out)
    assert (metadata.name, metadata.version) == ("tiny", "1.2.3")
    assert metadata.input.size == (SIZE, SIZE) and metadata.input.channels == CHANNELS
    assert metadata.embedding.dimension == DIMENSION and metadata.embedding.normalized
    assert metadata.threshold.calibrated is False
    assert metadata.training.people == 3
    assert "ORL" in metadata.terms
    assert metadata.preprocessing == {"size": SIZE}


def test_mixed_precision_model_is_exported_in_float32():
    keras.config.set_dtype_policy("mixed_float16")
    try:
        mixed = tiny_training_model()
    finally:
        keras.config.set_dtype_policy("float32")
    embedder = embedding_model(mixed)
    assert {layer.dtype_policy.name for layer in embedder.layers} == {"float32"}
    batch = pixels(2)
    full = embedder.predict(batch, verbose=0)["embedding"]
    half = keras.Model(mixed.inputs, mixed.get_layer("feature").output).predict(batch, verbose=0)
    half = half / np.linalg.norm(half, axis=1, keepdims=True)
    assert full.dtype == np.float32
    assert np.abs(full - half).max() < 1e-2  # same weights, float16 rounding only


def test_model_without_rescaling_is_refused():
    image = keras.Input((SIZE, SIZE, CHANNELS))
    feature = keras.layers.GlobalAveragePooling2D(name="feature")(image)
    with pytest.raises(ValueError, match="Rescaling"):
        embedding_model(keras.Model(image, feature))


@pytest.mark.slow
def test_cli_exports_an_amsoftmax_checkpoint(tmp_path, capsys):
    model = tiny_training_model(head="amsoftmax")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    model.save(run_dir / "best.keras")
    config = {"preset": "test", "input_size": SIZE, "data": [], "command": "train ..."}
    (run_dir / "config.json").write_text(json.dumps(config))
    out = tmp_path / "models" / "face"
    assert (
        main(
            [
                "export",
                "--checkpoint",
                str(run_dir / "best.keras"),
                "--out",
                str(out),
                "--no-saved-model",
            ]
        )
        == 0
    )
    assert "exported face" in capsys.readouterr().out
    batch = pixels(3)
    reference = embedding_model(model).predict(batch, verbose=0)["embedding"]
    from_onnx = ort.InferenceSession(str(out / "model.onnx")).run(None, {"image": batch})[0]
    assert np.abs(from_onnx - reference).max() < 1e-5
    metadata = ModelMetadata.load(out / "metadata.json")
    assert metadata.name == "face" and metadata.training.preset == "test"
    assert metadata.preprocessing["size"] == SIZE and metadata.preprocessing["channels"] == 3
    assert not (out / "saved_model").exists()


def distilled_export(out, **options):
    """A tiny distillation model (projection to 7-d) and its export to ``out``."""
    from training.model.network import wrap_distillation

    model = wrap_distillation(tiny_training_model(), num_classes=5, teacher_dim=7)
    metadata = export_model(
        model, out, name="d", version="0", preprocess={"size": SIZE}, saved_model=False, **options
    )
    return model, metadata


def served(out, batch):
    return ort.InferenceSession(str(out / "model.onnx")).run(["embedding"], {"image": batch})[0]


@pytest.mark.parametrize("mirror", [False, True])
def test_feature_and_projection_are_served_together_with_equal_weight(tmp_path, mirror):
    """Joined layers: the served cosine is the mean of the feature's and the projection's."""
    layers = ["feature", "teacher_projection"]
    model, metadata = distilled_export(tmp_path, embedding_layers=layers, mirror_average=mirror)
    assert metadata.embedding.dimension == DIMENSION + 7
    assert metadata.embedding.layers == tuple(layers)
    batch = pixels()
    embeddings = served(tmp_path, batch)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    if mirror:  # the mirror mean is checked elsewhere; here: the graph is the Keras one
        keras_side = embedding_model(model, layers, mirror_average=True)(batch)["embedding"]
        np.testing.assert_allclose(embeddings, np.asarray(keras_side), atol=1e-5)
        return
    outputs = keras.Model(model.inputs[0], [model.get_layer(n).output for n in layers])(batch)
    units = [np.asarray(o) / np.linalg.norm(np.asarray(o), axis=1, keepdims=True) for o in outputs]
    mean_cosines = sum(unit @ unit.T for unit in units) / len(units)
    np.testing.assert_allclose(embeddings @ embeddings.T, mean_cosines, atol=1e-5)


def test_a_distillation_projection_can_be_exported_for_measurement(tmp_path):
    out = tmp_path / "projection"
    model, metadata = distilled_export(out, embedding_layers=["teacher_projection"])
    assert metadata.embedding.dimension == 7
    assert metadata.embedding.layers == ("teacher_projection",)
    batch = pixels()
    projection = model.predict(batch, verbose=0)["projection"]
    expected = projection / np.linalg.norm(projection, axis=1, keepdims=True)
    np.testing.assert_allclose(served(out, batch), expected, atol=1e-5)
    with pytest.raises(ValueError, match="no layer 'missing'"):
        embedding_model(model, ["missing"])
    default = export_model(
        model,
        tmp_path / "feature",
        name="f",
        version="0",
        preprocess={"size": SIZE},
        saved_model=False,
    )
    assert default.embedding.dimension == DIMENSION
