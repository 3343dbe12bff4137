"""One typed model contract: every broken export is refused with a message naming the problem,
and the service, evaluation and the peer benchmark embed through the same wrapper."""

import json
import shutil

import image_factory as images
import numpy as np
import pytest
from fixture_paths import TINY_MODEL

from app.inference.runtime import load_runtime
from bench.peer.our_system import OnnxFaceSystem
from facecore.decode import decode_image
from facecore.model_bundle import ModelBundle, ModelBundleError
from facecore.onnx_model import OnnxModel
from training.evaluation.embedder import OnnxEmbedder


def edited_copy(tmp_path, edit_metadata=None, edit_files=None):
    model = tmp_path / "model"
    shutil.copytree(TINY_MODEL, model)
    if edit_metadata:
        metadata = json.loads((model / "metadata.json").read_text())
        edit_metadata(metadata)
        (model / "metadata.json").write_text(json.dumps(metadata))
    if edit_files:
        edit_files(model)
    return model


def set_in(path, value):
    def edit(metadata):
        node = metadata
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return edit


BROKEN = [
    ("no metadata.json", None, lambda m: (m / "metadata.json").unlink(), "metadata"),
    ("metadata.json not JSON", None, lambda m: (m / "metadata.json").write_text("{"), "invalid"),
    ("unknown preprocessing key", set_in(("preprocessing", "colour"), "red"), None, "colour"),
    ("invalid face policy", set_in(("preprocessing", "face_policy"), "any"), None, "face_policy"),
    ("input size differs from the crop", set_in(("input", "size"), [48, 48]), None, "48x48x1"),
    ("channels differ from the crop", set_in(("input", "channels"), 3), None, "32x32x3"),
]
BROKEN_GRAPH = [
    ("no model.onnx", None, lambda m: (m / "model.onnx").unlink(), "no model.onnx"),
    ("embedding dimension", set_in(("embedding", "dimension"), 32), None, "dimension 32"),
    ("input tensor name", set_in(("input", "name"), "pixels"), None, "'pixels'"),
    ("output tensor name", set_in(("embedding", "name"), "vector"), None, "'vector'"),
]


@pytest.mark.parametrize(
    ("case", "edit_metadata", "edit_files", "expected"), BROKEN, ids=[case[0] for case in BROKEN]
)
def test_broken_export_is_refused_on_load(tmp_path, case, edit_metadata, edit_files, expected):
    with pytest.raises(ModelBundleError, match=expected):
        ModelBundle.load(edited_copy(tmp_path, edit_metadata, edit_files))


@pytest.mark.parametrize(
    ("case", "edit_metadata", "edit_files", "expected"),
    BROKEN_GRAPH,
    ids=[case[0] for case in BROKEN_GRAPH],
)
def test_graph_disagreeing_with_metadata_is_refused(
    tmp_path, case, edit_metadata, edit_files, expected
):
    bundle = ModelBundle.load(edited_copy(tmp_path, edit_metadata, edit_files))
    with pytest.raises(ModelBundleError, match=expected):
        OnnxModel(bundle)


def test_bundle_is_typed_and_absolute():
    bundle = ModelBundle.load(TINY_MODEL)
    assert bundle.directory.is_absolute()
    assert (bundle.size, bundle.channels, bundle.dimension) == (32, 1, 16)
    assert bundle.preprocess.size == bundle.metadata.input.size[0]
    assert (bundle.input_name, bundle.output_name) == ("image", "embedding")


def test_service_evaluation_and_benchmark_embed_identically():
    rgb = decode_image(images.PHOTO_ONE_FACE.read_bytes())
    system = OnnxFaceSystem(TINY_MODEL)
    pixels = system._preprocessor.process(rgb).pixels[None]
    served = load_runtime(TINY_MODEL, "onnx", "cpu", threads=1).embed(pixels.astype(np.float32))
    evaluated = OnnxEmbedder(TINY_MODEL).embed_pixels(pixels)
    benchmarked = system.embed(rgb)
    assert np.array_equal(served[0], evaluated[0])
    assert np.array_equal(served[0], benchmarked)
