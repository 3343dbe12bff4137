"""dlib's face ResNet read without dlib, rebuilt in Keras and exported (training convert-dlib)."""

import hashlib
import os
import struct
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from facecore.model_bundle import ModelBundle  # noqa: E402
from facecore.onnx_model import OnnxModel  # noqa: E402
from tests.teacher_factory import FACES, needs_dlib  # noqa: E402
from training.cli import main  # noqa: E402
from training.model.dlib_format import DlibFormatError, DlibStream  # noqa: E402
from training.model.dlib_keras import fold_affines, keras_model  # noqa: E402
from training.model.dlib_net import DlibLayer, read_network  # noqa: E402
from training.model.layers import ZeroPadAdd  # noqa: E402

MIN_COSINE = 0.9999


def dlib_int(value: int) -> bytes:
    """Serialise an integer as dlib's ``pack_int`` does (test helper)."""
    magnitude = abs(value).to_bytes(max(1, (abs(value).bit_length() + 7) // 8), "little")
    return bytes([len(magnitude) | (0x80 if value < 0 else 0)]) + magnitude


def test_stream_reads_dlib_integers_strings_bools_floats_and_tensors():
    tensor = np.arange(6, dtype="<f4")
    data = b"".join(
        [
            dlib_int(0),
            dlib_int(-300),
            dlib_int(2**40 + 7),
            dlib_int(5) + b"con_6",
            b"1",
            dlib_int(3) + dlib_int(-2),  # float_details: 3 * 2**-2
            dlib_int(2) + b"".join(dlib_int(d) for d in (1, 2, 3, 1)) + tensor.tobytes(),
        ]
    )
    stream = DlibStream(data)
    assert [stream.int(), stream.int(), stream.uint()] == [0, -300, 2**40 + 7]
    assert stream.version("con_5", "con_6") == "con_6"
    assert stream.bool() is True
    assert stream.float() == 0.75
    assert np.array_equal(stream.tensor(), tensor.reshape(1, 2, 3, 1))
    assert stream.at_end()


def test_stream_refuses_what_it_does_not_expect():
    with pytest.raises(DlibFormatError, match="expected relu_"):
        DlibStream(dlib_int(5) + b"fc_3x").version("relu_")
    with pytest.raises(DlibFormatError, match="end of data"):
        DlibStream(dlib_int(5) + b"ab").string()
    with pytest.raises(DlibFormatError, match="bad bool"):
        DlibStream(b"x").bool()
    with pytest.raises(DlibFormatError, match="ASCII float"):
        DlibStream(struct.pack("4s", b"1.5 ")).float()


def test_zero_pad_add_pads_the_smaller_input_at_its_end():
    small = np.ones((1, 3, 3, 2), np.float32)
    large = np.full((1, 4, 4, 4), 10.0, np.float32)
    added = np.asarray(ZeroPadAdd()([small, large]))
    assert added.shape == (1, 4, 4, 4)
    assert np.all(added[0, :3, :3, :2] == 11.0)
    assert np.all(added[0, 3, :, :] == 10.0) and np.all(added[0, :, :, 2:] == 10.0)


def test_zero_pad_add_refuses_anything_but_two_image_batches():
    with pytest.raises(ValueError, match="two"):
        ZeroPadAdd().build([(None, 3, 3, 2)])
    with pytest.raises(ValueError, match="two"):
        ZeroPadAdd().build([(None, 3, 2), (None, 3, 3, 2)])


def test_a_model_with_zero_pad_add_survives_save_and_load(tmp_path):
    image = keras.Input((8, 8, 3))
    block = keras.layers.Conv2D(6, 3, strides=2)(image)
    shortcut = keras.layers.AveragePooling2D(2)(image)
    model = keras.Model(image, ZeroPadAdd(name="add")([block, shortcut]))
    batch = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype(np.float32)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert loaded.get_layer("add").get_config()["name"] == "add"
    assert np.array_equal(loaded.predict(batch, verbose=0), model.predict(batch, verbose=0))


def test_affine_folded_into_its_convolution_computes_the_same():
    rng = np.random.default_rng(1)
    kernel = rng.normal(size=(4, 3, 3, 3)).astype(np.float32)
    bias, gamma, beta = rng.normal(size=(3, 4)).astype(np.float32)
    layers = [
        DlibLayer("input", {"size": 6}, {"means": np.zeros(3, np.float32)}),
        DlibLayer("con", {"filters": 4, "size": 3, "stride": 1}, {"kernel": kernel, "bias": bias}),
        DlibLayer("affine", {}, {"gamma": gamma, "beta": beta}),
    ]
    assert [layer.kind for layer in fold_affines(layers)] == ["input", "con"]
    pixels = rng.integers(0, 256, (1, 6, 6, 3)).astype(np.float32)
    plain = keras.layers.Conv2D(4, 3, padding="same")
    plain.build((None, 6, 6, 3))
    plain.set_weights([kernel.transpose(2, 3, 1, 0), bias])
    expected = np.asarray(plain(pixels / 256.0)) * gamma + beta
    assert np.allclose(keras_model(layers).predict(pixels, verbose=0), expected, atol=1e-5)


@pytest.fixture(scope="module")
def dlib_chips():
    """dlib's own chips of the fixture photos (and their mirror images), with dlib's vectors."""
    from training.teacher import dlib_backend as teacher

    teacher.load_teacher()
    paths = sorted(p for p in Path(FACES).rglob("*") if p.suffix in (".jpg", ".pgm"))
    chips = [teacher.face_chip(path, None) for path in paths]
    chips += [np.ascontiguousarray(chip[:, ::-1]) for chip in chips]
    return np.stack(chips), np.stack([teacher.embed_chip(chip) for chip in chips])


@pytest.fixture(scope="module")
def converted():
    """The converted Keras model, built once for the module."""
    from training.model.dlib_net import default_dat

    return keras_model(read_network(default_dat()))


def unit(vectors):
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


@pytest.mark.slow
@needs_dlib
def test_converted_network_gives_dlibs_descriptors(dlib_chips, converted):
    chips, expected = dlib_chips
    ours = unit(converted.predict(chips.astype(np.float32), batch_size=16, verbose=0))
    cosines = np.sum(ours * expected, axis=1)
    assert len(cosines) >= 30 and cosines.min() >= MIN_COSINE, cosines.min()


@pytest.mark.slow
@needs_dlib
def test_convert_dlib_exports_the_network_as_our_models_are(tmp_path, dlib_chips, converted):
    from training.model.dlib_net import default_dat

    out = tmp_path / "dlib-resnet-v1"
    assert main(["convert-dlib", "--out", str(out), "--no-saved-model"]) == 0
    bundle = ModelBundle.load(out)
    assert (bundle.size, bundle.dimension, bundle.preprocess.alignment) == (150, 128, "dlib_chip")
    source = bundle.metadata.training.model_dump()["source"]
    assert source["sha256"] == hashlib.sha256(default_dat().read_bytes()).hexdigest()
    assert not bundle.metadata.embedding.mirror_averaged
    chips, expected = dlib_chips
    served = OnnxModel(bundle, threads=1).embed(chips.astype(np.float32))
    assert np.sum(served * expected, axis=1).min() >= MIN_COSINE
